import CanopyCore
import Foundation

/// A static weapon–target assignment instance (the `wta-instance` format, version 1): weapons
/// i = 0..<n, targets j = 0..<m. Minimise Σⱼ Vⱼ Πᵢ:aᵢ=ⱼ (1 − pᵢⱼ) + Σᵢ:aᵢ≠−1 cᵢ, each weapon
/// firing at most once and only where feasible.
public struct WTAInstance: Sendable, Equatable {
    public var name: String
    public var weapons: Int
    public var targets: Int
    /// Vⱼ > 0.
    public var values: [Double]
    /// pᵢⱼ ∈ [0, 1), row-major n × m.
    public var killProbability: [Double]
    /// Type of each weapon (weapons of one type are identical), or nil (each weapon its own).
    public var weaponType: [Int]?
    /// Feasibility mask, row-major n × m, or nil (everything feasible).
    public var feasible: [Bool]?
    /// Cost of firing each weapon, or nil (free).
    public var weaponCost: [Double]?

    public init(name: String, weapons: Int, targets: Int, values: [Double], killProbability: [Double],
                weaponType: [Int]? = nil, feasible: [Bool]? = nil, weaponCost: [Double]? = nil) {
        self.name = name; self.weapons = weapons; self.targets = targets; self.values = values
        self.killProbability = killProbability; self.weaponType = weaponType; self.feasible = feasible
        self.weaponCost = weaponCost
    }

    @inlinable public func p(_ i: Int, _ j: Int) -> Double { killProbability[i * targets + j] }
    @inlinable public func isFeasible(_ i: Int, _ j: Int) -> Bool { feasible?[i * targets + j] ?? true }
    @inlinable public func cost(_ i: Int) -> Double { weaponCost?[i] ?? 0 }

    /// f(a) for an assignment (aᵢ = target or −1). Nil when the assignment is malformed or
    /// uses an infeasible pair.
    public func objective(_ a: [Int]) -> Double? {
        guard a.count == weapons else { return nil }
        var survive = values
        var cost = 0.0
        for i in 0..<weapons where a[i] != -1 {
            let j = a[i]
            guard j >= 0 && j < targets, isFeasible(i, j) else { return nil }
            survive[j] *= 1 - p(i, j)
            cost += self.cost(i)
        }
        return survive.reduce(0, +) + cost
    }
}

/// A problem with an instance or solution file: which file, which field, what is wrong.
public struct WTAFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var field: String
    public var problem: String
    public init(path: String, field: String, problem: String) { self.path = path; self.field = field; self.problem = problem }
    public var description: String { field.isEmpty ? "\(path): \(problem)" : "\(path): \(field): \(problem)" }
}

extension WTAInstance {
    /// Reads and validates an instance file.
    public static func load(path: String) throws -> WTAInstance {
        // The core reader: it names the reason a file cannot be read, and takes gzip too.
        let data: Data
        do { data = Data(try InputFile.read(path: path)) } catch let e as InputFileError {
            throw WTAFileError(path: path, field: "", problem: e.message)
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws -> WTAInstance {
        func fail(_ field: String, _ problem: String) -> WTAFileError { WTAFileError(path: path, field: field, problem: problem) }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            // Only white space (or nothing): say so rather than pass on the parser's words.
            if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { throw fail("", "the file is empty") }
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw fail("", "not valid JSON (\(detail))")
        }
        guard let obj = root as? [String: Any] else { throw fail("", "the top level must be a JSON object") }
        // A JSON true/false (Foundation's NSNumber of type "c"), read without making a string per
        // number (the kill-probability matrix has n × m of them).
        func isBool(_ n: NSNumber) -> Bool { let t = n.objCType; return t[0] == 0x63 && t[1] == 0 }
        // What a field holds, as the file has it (a quoted "2" is a string; true is not 1).
        func shown(_ x: Any) -> String {
            if let s = x as? String { return "the string \"\(s)\"" }
            if let n = x as? NSNumber, isBool(n) { return n.boolValue ? "true" : "false" }
            if x is NSNull { return "null" }
            return "\(x)"
        }
        func plainNumber(_ x: Any) -> Double? {
            guard let n = x as? NSNumber, !isBool(n) else { return nil }
            return n.doubleValue
        }
        func int(_ key: String) throws -> Int {
            guard let v = obj[key] else { throw fail(key, "missing (an integer ≥ 1 is required)") }
            guard let d = plainNumber(v), let i = Int(exactly: d), i >= 1 else {
                throw fail(key, "must be an integer ≥ 1, found \(shown(v))")
            }
            return i
        }
        func numbers(_ v: Any, _ field: String, count: Int) throws -> [Double] {
            guard let a = v as? [Any] else { throw fail(field, "must be an array of \(count) numbers") }
            guard a.count == count else { throw fail(field, "has \(a.count) entries, \(count) expected") }
            return try a.enumerated().map { k, x in
                guard let d = plainNumber(x), d.isFinite else {
                    throw fail("\(field)[\(k)]", "must be a finite number, found \(shown(x))")
                }
                return d
            }
        }
        // The format's keys only: a misspelt optional key ("weapon_costs") had been passed over,
        // and the instance solved without it.
        let known = ["name", "weapons", "targets", "values", "kill_prob", "weapon_type", "type_counts", "feasible", "weapon_cost", "meta"]
        for key in obj.keys.sorted() where !known.contains(key) {
            // The known key sharing the longest start with it (at least four characters).
            let common = { (k: String) in zip(k, key).prefix { $0 == $1 }.count }
            let hint = known.max { common($0) < common($1) }.flatMap { common($0) >= 4 ? " (did you mean \($0)?)" : nil } ?? ""
            throw fail(key, "unknown key\(hint); the format's keys are \(known.joined(separator: ", "))")
        }
        if let given = obj["name"], !(given is String) { throw fail("name", "must be a string, found \(shown(given))") }
        if obj["type_counts"] != nil && !(obj["type_counts"] is NSNull) && (obj["weapon_type"] == nil || obj["weapon_type"] is NSNull) {
            throw fail("type_counts", "given without weapon_type, which it counts")
        }
        let name = (obj["name"] as? String) ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let n = try int("weapons"), m = try int("targets")
        guard let vRaw = obj["values"] else { throw fail("values", "missing (\(m) positive numbers)") }
        let values = try numbers(vRaw, "values", count: m)
        for (j, v) in values.enumerated() where !(v > 0) { throw fail("values[\(j)]", "must be > 0, found \(v)") }
        // The objective and its bounds are sums of these: they must stay finite (1.7e308 twice
        // made an infinite objective, a bound of 0 and a solver that ran to its time limit).
        let totalValue = values.reduce(0, +)
        guard totalValue <= 1e300 else { throw fail("values", "sum to \(totalValue); at most 1e300 in all, so that the objective stays finite") }
        guard let kp = obj["kill_prob"] as? [Any] else { throw fail("kill_prob", "missing or not an array (\(n) rows of \(m) numbers)") }
        guard kp.count == n else { throw fail("kill_prob", "has \(kp.count) rows, \(n) expected (one per weapon)") }
        var p = [Double]()
        p.reserveCapacity(n * m)
        for i in 0..<n {
            let row = try numbers(kp[i], "kill_prob[\(i)]", count: m)
            // The format asks p < 1; a file rounded to four places can hold 1.0, taken as a certain kill.
            for (j, x) in row.enumerated() where !(x >= 0 && x <= 1) {
                throw fail("kill_prob[\(i)][\(j)]", "must be in [0, 1], found \(x)")
            }
            p.append(contentsOf: row)
        }
        // A certain kill is weighed by a tiny survival (WTAProblem): exact enough while the values
        // span at most 10¹⁸.
        if p.contains(1), let lo = values.min(), let hi = values.max(), hi / lo > 1e18 {
            throw fail("values", "span from \(lo) to \(hi) with a certain kill (a kill_prob of 1): more than 10^18 apart, which the solvers cannot weigh exactly; scale the values or give the kill probability below 1")
        }
        var inst = WTAInstance(name: name, weapons: n, targets: m, values: values, killProbability: p)
        if let ft = obj["feasible"], !(ft is NSNull) {
            guard let rows = ft as? [Any], rows.count == n else { throw fail("feasible", "must be \(n) rows of \(m) zeros and ones") }
            var mask = [Bool]()
            mask.reserveCapacity(n * m)
            for i in 0..<n {
                // 0/1, or true/false (a mask is the one place a boolean means what it says).
                guard let row = rows[i] as? [Any], row.count == m else { throw fail("feasible[\(i)]", "must be an array of \(m) zeros and ones") }
                for (j, v) in row.enumerated() {
                    if let n = v as? NSNumber, isBool(n) { mask.append(n.boolValue); continue }
                    guard let x = plainNumber(v), x == 0 || x == 1 else { throw fail("feasible[\(i)][\(j)]", "must be 0 or 1, found \(shown(v))") }
                    mask.append(x == 1)
                }
            }
            inst.feasible = mask
        }
        if let c = obj["weapon_cost"], !(c is NSNull) {
            let cost = try numbers(c, "weapon_cost", count: n)
            for (i, x) in cost.enumerated() where x < 0 { throw fail("weapon_cost[\(i)]", "must be ≥ 0, found \(x)") }
            let totalCost = cost.reduce(0, +)
            guard totalCost <= 1e300 else { throw fail("weapon_cost", "sums to \(totalCost); at most 1e300 in all, so that the objective stays finite") }
            inst.weaponCost = cost
        }
        if let t = obj["weapon_type"], !(t is NSNull) {
            let types = try numbers(t, "weapon_type", count: n).enumerated().map { i, x -> Int in
                guard let k = Int(exactly: x), k >= 0 else { throw fail("weapon_type[\(i)]", "must be an integer ≥ 0, found \(x)") }
                return k
            }
            if let tc = obj["type_counts"], !(tc is NSNull) {
                let kinds = (types.max() ?? -1) + 1
                let counts = try numbers(tc, "type_counts", count: kinds)
                for k in 0..<kinds {
                    let actual = types.filter { $0 == k }.count
                    guard counts[k] == Double(actual) else {
                        throw fail("type_counts[\(k)]", "says \(counts[k]), but weapon_type lists \(actual) weapons of type \(k)")
                    }
                }
            }
            // Weapons of one type must be identical: same kill row, mask row and cost.
            var first = [Int: Int]()
            for i in 0..<n {
                guard let f = first[types[i]] else { first[types[i]] = i; continue }
                for j in 0..<m where inst.p(i, j) != inst.p(f, j) || inst.isFeasible(i, j) != inst.isFeasible(f, j) {
                    throw fail("weapon_type[\(i)]", "weapon \(i) is of type \(types[i]) but differs from weapon \(f) of that type at target \(j)")
                }
                if inst.cost(i) != inst.cost(f) {
                    throw fail("weapon_type[\(i)]", "weapon \(i) is of type \(types[i]) but its cost differs from weapon \(f)'s")
                }
            }
            inst.weaponType = types
        }
        return inst
    }
}

/// A solution: each weapon's target (or −1 for not firing).
public struct WTASolution: Sendable, Equatable {
    public var instance: String
    public var objective: Double
    public var assignment: [Int]
    public init(instance: String, objective: Double, assignment: [Int]) {
        self.instance = instance; self.objective = objective; self.assignment = assignment
    }

    public func json() -> String {
        "{\"instance\":\(JSONText.quoted(instance)),\"objective\":\(objective),\"assignment\":[\(assignment.map(String.init).joined(separator: ","))]}\n"
    }

    public static func load(path: String) throws -> WTASolution {
        func fail(_ field: String, _ problem: String) -> WTAFileError { WTAFileError(path: path, field: field, problem: problem) }
        let data: Data
        do { data = Data(try InputFile.read(path: path)) } catch let e as InputFileError { throw fail("", e.message) }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw fail("", "not a JSON object") }
        guard let a = obj["assignment"] as? [NSNumber] else { throw fail("assignment", "missing or not an array of integers") }
        let objective = (obj["objective"] as? NSNumber)?.doubleValue ?? .nan
        return WTASolution(instance: obj["instance"] as? String ?? "", objective: objective, assignment: a.map(\.intValue))
    }
}
