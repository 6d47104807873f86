import CanopyCore

extension AcousticNetwork {
    /// Node positions: a square grid of step `spacing` in the centre's tangent plane, clipped to the
    /// disc of `radius`, projected onto the ellipsoid (height 5 m above it). Deterministic order.
    public func nodePositions() -> [Geodetic] {
        guard spacing > 0, radius > 0 else { return [] }
        let frame = LocalFrame(origin: Geodetic(latitude: center.latitude, longitude: center.longitude, height: 0))
        let n = Int((radius / spacing).rounded(.down))
        var out: [Geodetic] = []
        for i in -n...n {
            for j in -n...n {
                let e = Double(i) * spacing, nn = Double(j) * spacing
                guard e * e + nn * nn <= radius * radius else { continue }
                var g = frame.geodetic(enu: Vector3(e, nn, 0))
                g.height = 5
                out.append(g)
            }
        }
        return out
    }

    /// How many nodes `nodePositions()` returns, without building them.
    public var nodeCount: Int {
        guard spacing > 0, radius > 0 else { return 0 }
        let ratio = radius / spacing
        if ratio > 1000 { return Int(min(Double(Int.max / 2), Double.pi * ratio * ratio)) }
        let n = Int(ratio.rounded(.down))
        var c = 0
        for i in -n...n { for j in -n...n where Double(i * i + j * j) * spacing * spacing <= radius * radius { c += 1 } }
        return c
    }
}
