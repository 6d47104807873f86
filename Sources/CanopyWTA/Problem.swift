import Foundation

/// The representation every solver shares: identical weapons grouped into types, survival
/// probabilities q = 1 − p and their negative logs a = −ln q per (type, target), feasibility, and
/// firing costs. A solution is a count xₜⱼ of type-t weapons fired at target j (row-major k × m).
public struct WTAProblem: Sendable {
    public let name: String
    /// Number of weapon types k and targets m.
    public let types: Int
    public let targets: Int
    public let values: [Double]
    /// Weapons of each type, and their original indices.
    public let count: [Int]
    public let members: [[Int]]
    /// Cost of firing one weapon of each type.
    public let cost: [Double]
    /// Survival probability qₜⱼ = 1 − pₜⱼ, k × m.
    public let q: [Double]
    /// Whether type t may fire at target j (and pₜⱼ > 0: a shot that cannot kill is never useful).
    public let feasible: [Bool]
    /// Most shots each target may take (nil: no limit). Not in the file format: a decision rule
    /// such as shoot-look-shoot (one engagement per threat per look) sets it.
    public let cap: [Int]?
    public var weapons: Int { count.reduce(0, +) }
    @inlinable public func capacity(_ j: Int) -> Int { cap?[j] ?? Int.max }
    public var hasCosts: Bool { cost.contains { $0 > 0 } }

    public init(_ inst: WTAInstance, targetCap: [Int]? = nil) {
        precondition(targetCap == nil || targetCap!.count == inst.targets, "one cap per target")
        cap = targetCap
        name = inst.name
        targets = inst.targets
        values = inst.values
        var typeOf = [Int](repeating: 0, count: inst.weapons)
        var members: [[Int]] = []
        if let wt = inst.weaponType {
            var index = [Int: Int]()
            for i in 0..<inst.weapons {
                if let k = index[wt[i]] { typeOf[i] = k; members[k].append(i) } else {
                    index[wt[i]] = members.count; typeOf[i] = members.count; members.append([i])
                }
            }
        } else {
            for i in 0..<inst.weapons { typeOf[i] = i; members.append([i]) }
        }
        self.members = members
        types = members.count
        count = members.map(\.count)
        cost = members.map { inst.cost($0[0]) }
        var q = [Double](repeating: 1, count: types * inst.targets)
        var f = [Bool](repeating: false, count: types * inst.targets)
        for t in 0..<types {
            let i = members[t][0]
            for j in 0..<inst.targets {
                // A certain kill (p = 1, e.g. a rounded 0.99997) keeps a tiny survival so that
                // logs and ratios stay finite; the objective is checked on the instance itself.
                q[t * inst.targets + j] = max(1 - inst.p(i, j), 1e-12)
                f[t * inst.targets + j] = inst.isFeasible(i, j) && inst.p(i, j) > 0
            }
        }
        self.q = q
        feasible = f
    }

    /// Expected surviving value plus firing cost of type counts x.
    public func objective(_ x: [Int32]) -> Double {
        var total = 0.0
        for j in 0..<targets {
            var s = values[j]
            for t in 0..<types where x[t * targets + j] > 0 {
                s *= pow(q[t * targets + j], Double(x[t * targets + j]))
            }
            total += s
        }
        for t in 0..<types {
            var n = 0
            for j in 0..<targets { n += Int(x[t * targets + j]) }
            total += Double(n) * cost[t]
        }
        return total
    }

    /// Whether x respects the stock of every type and the feasibility mask.
    public func isFeasible(_ x: [Int32]) -> Bool {
        guard x.count == types * targets else { return false }
        for t in 0..<types {
            var n = 0
            for j in 0..<targets {
                let c = Int(x[t * targets + j])
                if c < 0 || (c > 0 && !feasible[t * targets + j]) { return false }
                n += c
            }
            if n > count[t] { return false }
        }
        if let cap {
            for j in 0..<targets {
                var n = 0
                for t in 0..<types { n += Int(x[t * targets + j]) }
                if n > cap[j] { return false }
            }
        }
        return true
    }

    /// Each weapon's target (−1: not fired): the weapons of a type in index order.
    public func assignment(_ x: [Int32]) -> [Int] {
        var a = [Int](repeating: -1, count: weapons)
        for t in 0..<types {
            var k = 0
            for j in 0..<targets {
                for _ in 0..<Int(x[t * targets + j]) { a[members[t][k]] = j; k += 1 }
            }
        }
        return a
    }

    /// Type counts of a per-weapon assignment.
    public func counts(of a: [Int]) -> [Int32] {
        var x = [Int32](repeating: 0, count: types * targets)
        for t in 0..<types {
            for i in members[t] where a[i] >= 0 { x[t * targets + a[i]] += 1 }
        }
        return x
    }
}
