import Foundation

/// An edit of a scenario file before it is read: what a parameter sweep or a planning study
/// varies. Edits apply to the file's tree, so the edited scenario is validated like any other
/// and a bad value is reported with its path.
///
/// A path is keys separated by dots; a list is entered with a selector in brackets:
/// `[3]` (the fourth element), `[*]` (every element) or `[key=value]` (every element whose
/// `key` is `value`). Examples: `doctrine.moneyWorth`, `fireUnits[id=PATRIOT-Kyiv-S].magazine`,
/// `raids[*].waves[type=shahed-136].count`, `fireUnits[type=nasams]`.
public struct ScenarioOverride: Sendable, Equatable, CustomStringConvertible {
    public enum Operation: Sendable, Equatable {
        /// Replace the value (or add the key to a mapping that lacks it); `[…]` or `{…}` sets a
        /// YAML list or mapping.
        case set(String)
        /// Multiply a number (an integer stays an integer, rounded to the nearest).
        case scale(Double)
        /// On a path ending in a list selector: keep the first n selected elements, drop the
        /// other selected ones (e.g. the number of fire units of a type).
        case keep(Int)
    }

    public var path: String
    public var operation: Operation

    public init(path: String, _ operation: Operation) { self.path = path; self.operation = operation }

    public var description: String {
        switch operation {
        case .set(let v): "\(path) = \(v)"
        case .scale(let f): "\(path) × \(f)"
        case .keep(let n): "\(path): keep \(n)"
        }
    }

    /// A value to set: a YAML flow list or mapping (`[…]`, `{…}`) becomes that structure
    /// (e.g. `doctrine.reserves` = `[{effector: patriot-pac3, rounds: 8, for: [ballistic]}]`),
    /// anything else a plain scalar.
    static func value(_ v: String, path: String, line: Int?) throws -> Document {
        let t = v.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("[") || t.hasPrefix("{") else { return .scalar(v, quoted: false, line: line) }
        do { return try Document.yaml(t) } catch let e as DocumentError {
            throw DocumentError(message: "override '\(path)': the value \(t) is not a valid YAML list or mapping (\(e.message))", line: line)
        }
    }

    enum Step: Equatable {
        case key(String)
        case index(Int)
        case all
        case match(String, String)
    }

    /// What is wrong with a path, or nil when it is well formed.
    public static func problem(in path: String) -> String? { parse(path).1 }

    /// Parses the path; nil with a reason when malformed.
    static func parse(_ path: String) -> ([Step], String?) {
        var steps: [Step] = []
        var rest = Substring(path)
        while !rest.isEmpty {
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return ([], "a '[' has no ']'") }
                let inner = rest[rest.index(after: rest.startIndex)..<close]
                if inner == "*" {
                    steps.append(.all)
                } else if let i = Int(inner), i >= 0 {
                    steps.append(.index(i))
                } else if let eq = inner.firstIndex(of: "="), eq != inner.startIndex {
                    steps.append(.match(String(inner[..<eq]), String(inner[inner.index(after: eq)...])))
                } else {
                    return ([], "'[\(inner)]' is not [n], [*] or [key=value]")
                }
                rest = rest[rest.index(after: close)...]
                if rest.hasPrefix(".") { rest = rest.dropFirst() }
            } else {
                let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
                let key = rest[..<end]
                guard !key.isEmpty else { return ([], "an empty key") }
                steps.append(.key(String(key)))
                rest = rest[end...]
                if rest.hasPrefix(".") { rest = rest.dropFirst() }
            }
        }
        return steps.isEmpty ? ([], "an empty path") : (steps, nil)
    }

    /// Applies the edit to a document; the error says what the path did not find.
    func apply(to doc: inout Document) throws {
        let (steps, problem) = Self.parse(path)
        if let problem { throw DocumentError(message: "override '\(path)': \(problem)", line: nil) }
        var touched = 0
        try Self.apply(steps[...], operation, &doc, touched: &touched, path: path)
        if touched == 0 { throw DocumentError(message: "override '\(path)': the path selects nothing in the scenario", line: nil) }
    }

    static func apply(_ steps: ArraySlice<Step>, _ op: Operation, _ doc: inout Document, touched: inout Int, path: String) throws {
        guard let step = steps.first else {
            switch op {
            case .set(let v):
                doc = try Self.value(v, path: path, line: doc.line)
            case .scale(let f):
                guard case .scalar(let s, _, let line) = doc, let x = Double(s) else {
                    throw DocumentError(message: "override '\(path)': \(doc.shown) is not a number to scale", line: doc.line)
                }
                // Whole as written ("8", "1e3", "4.0": a JSON file keeps its numbers' text).
                if x == x.rounded() && !s.contains(".") || Int(s) != nil {
                    // A whole number stays whole (a magazine, a count), if it can.
                    guard abs(x * f) < 9e18 else {
                        throw DocumentError(message: "override '\(path)': \(s) × \(f) is \(x * f), too large for a whole number", line: doc.line)
                    }
                    doc = .scalar(String(Int((x * f).rounded())), quoted: false, line: line)
                } else {
                    doc = .scalar(String(x * f), quoted: false, line: line)
                }
            case .keep:
                throw DocumentError(message: "override '\(path)': 'keep' needs a path that ends in a list selector", line: doc.line)
            }
            touched += 1
            return
        }
        let rest = steps.dropFirst()
        switch step {
        case .key(let k):
            guard case .mapping(var pairs, let line) = doc else {
                throw DocumentError(message: "override '\(path)': '\(k)' is looked up in \(doc.shown), not a mapping", line: doc.line)
            }
            if let i = pairs.firstIndex(where: { $0.key == k }) {
                try apply(rest, op, &pairs[i].value, touched: &touched, path: path)
            } else if rest.isEmpty, case .set(let v) = op {
                pairs.append((key: k, value: try Self.value(v, path: path, line: nil)))
                touched += 1
            } else {
                return  // nothing here: counted as not touched
            }
            doc = .mapping(pairs, line: line)
        case .index, .all, .match:
            guard case .sequence(var items, let line) = doc else {
                throw DocumentError(message: "override '\(path)': a list selector is applied to \(doc.shown)", line: doc.line)
            }
            var selected: [Int] = []
            for (i, item) in items.enumerated() {
                switch step {
                case .index(let n): if i == n { selected.append(i) }
                case .all: selected.append(i)
                case .match(let key, let value):
                    if case .mapping(let pairs, _) = item, let v = pairs.first(where: { $0.key == key })?.value,
                       case .scalar(let s, _, _) = v, s == value { selected.append(i) }
                default: break
                }
            }
            if rest.isEmpty, case .keep(let n) = op {
                guard n >= 0, n <= selected.count else {
                    throw DocumentError(message: "override '\(path)': keep \(n), but the path selects \(selected.count) element\(selected.count == 1 ? "" : "s") (list more in the scenario to sweep higher)", line: line)
                }
                let drop = Set(selected.dropFirst(n))
                items = items.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
                touched += 1
            } else {
                for i in selected { try apply(rest, op, &items[i], touched: &touched, path: path) }
            }
            doc = .sequence(items, line: line)
        }
    }
}

extension ScenarioLoader {
    /// Loads a scenario file with edits applied (in order) before it is read and validated.
    public static func load(path: String, overrides: [ScenarioOverride]) throws -> Scenario {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let text = try ScenarioLoader.text(path: path)
        return try load(text: text, fileName: name, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                        overrides: overrides)
    }
}
