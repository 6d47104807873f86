import Foundation

/// A sample mean with its 95 % confidence interval (Student's t over independent replications).
public struct Estimate: Sendable, Equatable {
    public var mean: Double
    /// Half the width of the 95 % confidence interval (0 for fewer than two values).
    public var halfWidth: Double
    public var standardDeviation: Double
    public var count: Int
    /// The values the quantity can take (a share's 0...1, a count's 0...∞): the interval's bounds
    /// are kept inside them (a t interval about a share near 1 had reached 1.06).
    public var range: ClosedRange<Double> = -Double.infinity...Double.infinity

    public var lower: Double { max(mean - halfWidth, range.lowerBound) }
    public var upper: Double { min(mean + halfWidth, range.upperBound) }
    /// Whether there is an interval at all: two values or more. (A quantity defined only in some
    /// replications, such as a lead time, can have one value; its half-width of 0 is no interval.)
    public var hasInterval: Bool { count >= 2 }

    /// "mean ± half-width", each by `f`; "mean (n = 1)" without an interval; "–" without values.
    public func text(_ f: (Double) -> String) -> String {
        if count == 0 { return "–" }
        return hasInterval ? "\(f(mean)) ± \(f(halfWidth))" : "\(f(mean)) (n = 1)"
    }

    /// The estimate of the values in the order given (the order fixes the rounding, so equal
    /// inputs in equal order give bit-identical estimates).
    public init(_ xs: [Double], within range: ClosedRange<Double>) {
        self.init(xs)
        self.range = range
    }

    public init(_ xs: [Double]) {
        count = xs.count
        guard !xs.isEmpty else { mean = .nan; halfWidth = .nan; standardDeviation = .nan; return }
        var s = 0.0
        for x in xs { s += x }
        let m = s / Double(xs.count)
        mean = m
        guard xs.count > 1 else { halfWidth = 0; standardDeviation = 0; return }
        var ss = 0.0
        for x in xs { ss += (x - m) * (x - m) }
        let sd = (ss / Double(xs.count - 1)).squareRoot()
        standardDeviation = sd
        halfWidth = StudentT.quantile(0.975, degreesOfFreedom: xs.count - 1) * sd / Double(xs.count).squareRoot()
    }
}

/// Student's t distribution: the quantiles a confidence interval needs.
public enum StudentT {
    /// The p-quantile (0 < p < 1) with ν degrees of freedom, by bisection on the CDF to 1e-12.
    public static func quantile(_ p: Double, degreesOfFreedom nu: Int) -> Double {
        precondition(p > 0 && p < 1 && nu >= 1)
        if p == 0.5 { return 0 }
        if p < 0.5 { return -quantile(1 - p, degreesOfFreedom: nu) }
        var lo = 0.0, hi = 1.0
        while cdf(hi, degreesOfFreedom: nu) < p { hi *= 2 }
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if cdf(mid, degreesOfFreedom: nu) < p { lo = mid } else { hi = mid }
            if hi - lo <= 1e-12 * max(1, hi) { break }
        }
        return 0.5 * (lo + hi)
    }

    /// P(T ≤ t) = 1 − ½ I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0 (Abramowitz & Stegun 26.5.27, 26.7.1).
    public static func cdf(_ t: Double, degreesOfFreedom nu: Int) -> Double {
        let v = Double(nu)
        let tail = 0.5 * IncompleteBeta.regularized(a: v / 2, b: 0.5, x: v / (v + t * t))
        return t >= 0 ? 1 - tail : tail
    }
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction evaluated with
/// the modified Lentz method (A&S 26.5.8), on the side of x where it converges quickly.
public enum IncompleteBeta {
    public static func regularized(a: Double, b: Double, x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let lnFront: Double = lnBeta + a * Foundation.log(x) + b * Foundation.log(1 - x)
        if x < (a + 1) / (a + b + 2) {
            return exp(lnFront) * fraction(a: a, b: b, x: x) / a
        }
        return 1 - exp(lnFront) * fraction(a: b, b: a, x: 1 - x) / b
    }

    static func fraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            // Even step: m (b − m) x / ((a + 2m − 1)(a + 2m)).
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            // Odd step: −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return h
    }
}

/// Order statistics of a sample (linear interpolation between closest ranks, as R's type 7).
public func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let h = Double(sorted.count - 1) * q
    let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
}
