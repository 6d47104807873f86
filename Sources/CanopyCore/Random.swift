import Foundation

/// A seeded pseudo-random stream (xoshiro256**, Blackman & Vigna 2018), deterministic across
/// platforms. Streams are derived from (scenario seed, replication, component name) so that each
/// component draws from its own stream and adding draws in one never shifts another.
public struct RandomStream: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A stream for one component of one replication of a scenario.
    public init(seed: UInt64, replication: UInt64 = 0, component: String) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64 of the component name
        for b in component.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        var sm = SplitMix64(state: seed ^ (replication &* 0x9E37_79B9_7F4A_7C15) ^ (h &* 0xD1B5_4A32_D192_ED03))
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    /// A child stream, e.g. one per threat, derived from this stream's seed material and an index.
    public func child(_ index: UInt64) -> RandomStream {
        var copy = self
        var sm = SplitMix64(state: s0 ^ (index &* 0x9E37_79B9_7F4A_7C15) ^ s3.rotl(17))
        copy.s0 = sm.next(); copy.s1 = sm.next(); copy.s2 = sm.next(); copy.s3 = sm.next()
        return copy
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = (s1 &* 5).rotl(7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3.rotl(45)
        return result
    }

    /// Uniform in [0, 1), 53 random bits.
    @inlinable public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    @inlinable public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * uniform()
    }

    /// True with probability p.
    @inlinable public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// Standard normal (Box–Muller; one value per call, so the draw count is fixed per call).
    @inlinable public mutating func normal() -> Double {
        var u1 = uniform()
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    @inlinable public mutating func normal(mean: Double, sd: Double) -> Double { mean + sd * normal() }

    /// Exponential with the given mean.
    @inlinable public mutating func exponential(mean: Double) -> Double {
        -mean * Foundation.log(1 - uniform())
    }

    /// Poisson with mean lambda (Knuth's product method below 30, a rounded normal above).
    public mutating func poisson(_ lambda: Double) -> Int {
        guard lambda > 0 else { return 0 }
        if lambda < 30 {
            let limit = Foundation.exp(-lambda)
            var k = 0
            var p = uniform()
            while p > limit {
                k += 1
                p *= uniform()
            }
            return k
        }
        return max(0, Int((lambda + lambda.squareRoot() * normal()).rounded()))
    }

    /// An index drawn with probability proportional to the weights (all ≥ 0, not all 0).
    public mutating func weightedIndex(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var x = uniform() * total
        for (i, w) in weights.enumerated() {
            x -= w
            if x < 0 { return i }
        }
        return weights.count - 1
    }

    /// A point uniformly distributed in a disc of the given radius: (east, north) offsets in metres.
    public mutating func pointInDisc(radius: Double) -> SIMD2<Double> {
        let r = radius * uniform().squareRoot()
        let a = 2 * Double.pi * uniform()
        return SIMD2(r * sin(a), r * cos(a))
    }
}

@usableFromInline
struct SplitMix64 {
    @usableFromInline var state: UInt64
    @usableFromInline init(state: UInt64) { self.state = state }
    @usableFromInline mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension UInt64 {
    @inlinable func rotl(_ k: UInt64) -> UInt64 { (self << k) | (self >> (64 - k)) }
}
