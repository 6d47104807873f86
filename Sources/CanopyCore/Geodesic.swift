import Foundation

/// Geodesics on the WGS-84 ellipsoid: the inverse problem (distance and azimuths between two
/// points) and the direct problem (where a given distance along a given azimuth leads), accurate
/// to a few nanometres everywhere, near-antipodal points included, by C. F. F. Karney's method
/// ("Algorithms for geodesics", J. Geodesy 87:43–55, 2013): the auxiliary sphere, series in the
/// third flattening to sixth order, Newton's method on the starting azimuth with an astroid-based
/// first guess for nearly antipodal points. Written from the paper's equations.
public enum Geodesic {
    public struct InverseResult: Sendable, Hashable {
        /// Metres.
        public var distance: Double
        /// Forward azimuths at point 1 and at point 2 (rad, clockwise from north, in (−π, π]).
        public var azimuth1: Double
        public var azimuth2: Double
    }

    public struct DirectResult: Sendable, Hashable {
        /// Height is 0.
        public var position: Geodetic
        /// Forward azimuth at the end point (rad).
        public var azimuth2: Double
    }

    // MARK: Constants

    static let a = WGS84.a
    static let f = WGS84.f
    static let f1 = 1 - f
    static let e2 = WGS84.e2
    static let ep2 = e2 / (f1 * f1)
    static let n = f / (2 - f)
    static let b = a * f1
    static let tiny = Double.leastNormalMagnitude.squareRoot()
    static let tol0 = Double.ulpOfOne
    static let tol1 = 200 * tol0
    static let tol2 = tol0.squareRoot()
    static let tolb = tol0 * tol2
    static let xthresh = 1000 * tol2
    static let etol2 = 0.1 * tol2 / (max(0.001, abs(f)) * min(1, 1 - f / 2) / 2).squareRoot()
    static let maxit1 = 20
    static let maxit2 = maxit1 + 53 + 10

    // MARK: Series (Karney 2013, eqs. 17, 18, 21, 24, 25, 42, 43)

    /// A1 − 1.
    static func a1m1(_ e: Double) -> Double {
        let e2 = e * e
        let t = e2 * (e2 * (e2 + 4) + 64) / 256
        return (t + e) / (1 - e)
    }

    /// C1[1...6].
    static func c1(_ e: Double) -> (Double, Double, Double, Double, Double, Double) {
        let e2 = e * e, e3 = e2 * e, e4 = e2 * e2, e5 = e4 * e, e6 = e3 * e3
        return (-e / 2 + 3 * e3 / 16 - e5 / 32,
                -e2 / 16 + e4 / 32 - 9 * e6 / 2048,
                -e3 / 48 + 3 * e5 / 256,
                -5 * e4 / 512 + 3 * e6 / 512,
                -7 * e5 / 1280,
                -7 * e6 / 2048)
    }

    /// C1'[1...6] (the reverted series).
    static func c1p(_ e: Double) -> (Double, Double, Double, Double, Double, Double) {
        let e2 = e * e, e3 = e2 * e, e4 = e2 * e2, e5 = e4 * e, e6 = e3 * e3
        return (e / 2 - 9 * e3 / 32 + 205 * e5 / 1536,
                5 * e2 / 16 - 37 * e4 / 96 + 1335 * e6 / 4096,
                29 * e3 / 96 - 75 * e5 / 128,
                539 * e4 / 1536 - 2391 * e6 / 2560,
                3467 * e5 / 7680,
                38081 * e6 / 61440)
    }

    /// A2 − 1, with A2 = (1 − ε)(1 + ε²/4 + 9ε⁴/64 + 25ε⁶/256).
    static func a2m1(_ e: Double) -> Double {
        let e2 = e * e
        let t = e2 * (e2 * (25 * e2 + 36) + 64) / 256
        return t * (1 - e) - e
    }

    static func c2(_ e: Double) -> (Double, Double, Double, Double, Double, Double) {
        let e2 = e * e, e3 = e2 * e, e4 = e2 * e2, e5 = e4 * e, e6 = e3 * e3
        return (e / 2 + e3 / 16 + e5 / 32,
                3 * e2 / 16 + e4 / 32 + 35 * e6 / 1024,
                5 * e3 / 48 + 5 * e5 / 256,
                35 * e4 / 512 + 7 * e6 / 512,
                63 * e5 / 1280,
                77 * e6 / 2048)
    }

    static func a3(_ e: Double) -> Double {
        let n = Self.n
        return 1 - (0.5 - n / 2) * e - (0.25 + n / 8 - 3 * n * n / 8) * e * e
            - (1.0 / 16 + 3 * n / 16 + n * n / 16) * e * e * e - (3.0 / 64 + n / 32) * e * e * e * e
            - 3.0 / 128 * e * e * e * e * e
    }

    static func c3(_ e: Double) -> (Double, Double, Double, Double, Double, Double) {
        let n = Self.n, n2 = n * n
        let e2 = e * e, e3 = e2 * e, e4 = e2 * e2, e5 = e4 * e
        let c31 = (0.25 - n / 4) * e + (0.125 - n2 / 8) * e2 + (3.0 / 64 + 3 * n / 64 - n2 / 64) * e3
            + (5.0 / 128 + n / 64) * e4 + 3.0 / 128 * e5
        let c32 = (1.0 / 16 - 3 * n / 32 + n2 / 32) * e2 + (3.0 / 64 - n / 32 - 3 * n2 / 64) * e3
            + (3.0 / 128 + n / 128) * e4 + 5.0 / 256 * e5
        let c33 = (5.0 / 192 - 3 * n / 64 + 5 * n2 / 192) * e3 + (3.0 / 128 - 5 * n / 192) * e4 + 7.0 / 512 * e5
        let c34 = (7.0 / 512 - 7 * n / 256) * e4 + 7.0 / 512 * e5
        let c35 = 21.0 / 2560 * e5
        return (c31, c32, c33, c34, c35, 0)
    }

    /// Σ_{k=1…6} c_k sin(2kσ) by Clenshaw summation, from sin σ and cos σ.
    static func sinSeries(_ s: Double, _ c: Double, _ k: (Double, Double, Double, Double, Double, Double)) -> Double {
        let ar = 2 * (c - s) * (c + s)
        var y0 = 0.0, y1 = 0.0
        for ck in [k.5, k.4, k.3, k.2, k.1, k.0] {
            let y = ar * y0 - y1 + ck
            y1 = y0
            y0 = y
        }
        return 2 * s * c * y0
    }

    @inline(__always) static func normalize(_ s: inout Double, _ c: inout Double) {
        let h = (s * s + c * c).squareRoot()
        s /= h
        c /= h
    }

    /// sin and cos of an angle in degrees, exact at multiples of 90°.
    static func sincosd(_ x: Double) -> (Double, Double) {
        var r = x.truncatingRemainder(dividingBy: 360)
        let q = Int((r / 90).rounded())
        r -= 90 * Double(q)
        let rad = r * .pi / 180
        let s = sin(rad), c = cos(rad)
        switch ((q % 4) + 4) % 4 {
        case 0: return (s, c)
        case 1: return (c, -s)
        case 2: return (-s, -c)
        default: return (-c, s)
        }
    }

    /// Reduced (parametric) latitude: sin β, cos β, normalised, for a latitude in degrees.
    static func reduced(_ latDeg: Double) -> (Double, Double) {
        var (s, c) = sincosd(latDeg)
        s *= f1
        normalize(&s, &c)
        return (s, max(tiny, c))
    }

    // MARK: Lengths and λ12

    /// Reduced distance s12/b, reduced length m12/b and m0 on the auxiliary sphere.
    static func lengths(eps: Double, sig12: Double, ssig1: Double, csig1: Double, dn1: Double,
                        ssig2: Double, csig2: Double, dn2: Double) -> (s12b: Double, m12b: Double, m0: Double) {
        let a1 = a1m1(eps), cc1 = c1(eps)
        let a2 = a2m1(eps), cc2 = c2(eps)
        let m0x = a1 - a2
        let A1 = 1 + a1, A2 = 1 + a2
        let B1 = sinSeries(ssig2, csig2, cc1) - sinSeries(ssig1, csig1, cc1)
        let s12b = A1 * (sig12 + B1)
        let B2 = sinSeries(ssig2, csig2, cc2) - sinSeries(ssig1, csig1, cc2)
        let J12 = m0x * sig12 + (A1 * B1 - A2 * B2)
        let m12b = dn2 * (csig1 * ssig2) - dn1 * (ssig1 * csig2) - csig1 * csig2 * J12
        return (s12b, m12b, m0x)
    }

    struct Lambda {
        var v: Double, salp2: Double, calp2: Double, sig12: Double
        var ssig1: Double, csig1: Double, ssig2: Double, csig2: Double, eps: Double, dv: Double
    }

    /// λ12 for a starting azimuth α1, less the target, and its derivative.
    static func lambda12(sbet1: Double, cbet1: Double, dn1: Double, sbet2: Double, cbet2: Double, dn2: Double,
                         salp1: Double, calp1 inCalp1: Double, lam12: Double, derivative: Bool) -> Lambda {
        var calp1 = inCalp1
        if sbet1 == 0 && calp1 == 0 { calp1 = -tiny }
        let salp0 = salp1 * cbet1
        let calp0 = (calp1 * calp1 + (salp1 * sbet1) * (salp1 * sbet1)).squareRoot()
        var ssig1 = sbet1, csig1 = calp1 * cbet1
        let somg1 = salp0 * sbet1, comg1 = calp1 * cbet1
        normalize(&ssig1, &csig1)
        let salp2 = cbet2 != cbet1 ? salp0 / cbet2 : salp1
        let calp2: Double
        if cbet2 != cbet1 || abs(sbet2) != -sbet1 {
            let t = cbet1 < -sbet1 ? (cbet2 - cbet1) * (cbet1 + cbet2) : (sbet1 - sbet2) * (sbet1 + sbet2)
            calp2 = ((calp1 * cbet1) * (calp1 * cbet1) + t).squareRoot() / cbet2
        } else {
            calp2 = abs(calp1)
        }
        var ssig2 = sbet2, csig2 = calp2 * cbet2
        let somg2 = salp0 * sbet2, comg2 = calp2 * cbet2
        normalize(&ssig2, &csig2)
        let sig12 = atan2(max(0, csig1 * ssig2 - ssig1 * csig2), csig1 * csig2 + ssig1 * ssig2)
        let omg12 = atan2(max(0, comg1 * somg2 - somg1 * comg2), comg1 * comg2 + somg1 * somg2)
        let k2 = calp0 * calp0 * ep2
        let eps = k2 / (2 * (1 + (1 + k2).squareRoot()) + k2)
        let cc3 = c3(eps)
        let B312 = sinSeries(ssig2, csig2, cc3) - sinSeries(ssig1, csig1, cc3)
        let domg12 = -f * a3(eps) * salp0 * (sig12 + B312)
        let v = omg12 + domg12 - lam12
        var dv = 0.0
        if derivative {
            if calp2 == 0 {
                dv = -2 * f1 * dn1 / sbet1
            } else {
                let l = lengths(eps: eps, sig12: sig12, ssig1: ssig1, csig1: csig1, dn1: dn1, ssig2: ssig2, csig2: csig2, dn2: dn2)
                dv = l.m12b * f1 / (calp2 * cbet2)
            }
        }
        return Lambda(v: v, salp2: salp2, calp2: calp2, sig12: sig12, ssig1: ssig1, csig1: csig1, ssig2: ssig2,
                      csig2: csig2, eps: eps, dv: dv)
    }

    /// The positive root k of k⁴ + 2k³ − (x² + y² − 1)k² − 2y²k − y² = 0 (Karney 2013, eq. 55).
    static func astroid(_ x: Double, _ y: Double) -> Double {
        let p = x * x, q = y * y, r = (p + q - 1) / 6
        guard !(q == 0 && r <= 0) else { return 0 }
        let S = p * q / 4, r2 = r * r, r3 = r * r2
        let disc = S * (S + 2 * r3)
        var u = r
        if disc >= 0 {
            var T3 = S + r3
            T3 += T3 < 0 ? -disc.squareRoot() : disc.squareRoot()
            let T = cbrt(T3)
            u += T + (T != 0 ? r2 / T : 0)
        } else {
            let ang = atan2((-disc).squareRoot(), -(S + r3))
            u += 2 * r * cos(ang / 3)
        }
        let v = (u * u + q).squareRoot()
        let uv = u < 0 ? q / (v - u) : u + v
        let w = (uv - q) / (2 * v)
        return uv / ((uv + w * w).squareRoot() + w)
    }

    // MARK: Inverse

    public static func inverse(_ p1: Geodetic, _ p2: Geodetic) -> InverseResult {
        var lat1 = max(-90, min(90, degrees(p1.latitude))), lat2 = max(-90, min(90, degrees(p2.latitude)))
        // Longitude difference in (−180, 180], made non-negative.
        var lon12 = degrees(p2.longitude - p1.longitude).truncatingRemainder(dividingBy: 360)
        if lon12 > 180 { lon12 -= 360 }
        if lon12 <= -180 { lon12 += 360 }
        var lonsign: Double = lon12 >= 0 ? 1 : -1
        lon12 *= lonsign
        // Point 1 is the one farther from the equator, and in the southern hemisphere.
        let swapp: Double = abs(lat1) < abs(lat2) ? -1 : 1
        if swapp < 0 {
            lonsign = -lonsign
            swap(&lat1, &lat2)
        }
        let latsign: Double = lat1 < 0 ? 1 : -1
        lat1 *= latsign
        lat2 *= latsign
        let (sbet1, cbet1) = reduced(lat1)
        var (sbet2, cbet2) = reduced(lat2)
        // Make sure β2 equals β1 exactly when the latitudes are equal in magnitude.
        if cbet1 < -sbet1 {
            if cbet2 == cbet1 { sbet2 = sbet2 < 0 ? sbet1 : -sbet1 }
        } else if abs(sbet2) == -sbet1 {
            cbet2 = cbet1
        }
        let dn1 = (1 + ep2 * sbet1 * sbet1).squareRoot(), dn2 = (1 + ep2 * sbet2 * sbet2).squareRoot()
        let lam12 = lon12 * .pi / 180
        let (slam12, clam12) = lon12 == 180 ? (0.0, -1.0) : sincosd(lon12)

        var salp1 = 0.0, calp1 = 0.0, salp2 = 0.0, calp2 = 0.0
        var s12x = 0.0
        var meridian = lat1 == -90 || slam12 == 0
        if meridian {
            calp1 = clam12; salp1 = slam12
            calp2 = 1; salp2 = 0
            let ssig1 = sbet1, csig1 = calp1 * cbet1
            let ssig2 = sbet2, csig2 = calp2 * cbet2
            let sig12 = atan2(max(0, csig1 * ssig2 - ssig1 * csig2), csig1 * csig2 + ssig1 * ssig2)
            let l = lengths(eps: n, sig12: sig12, ssig1: ssig1, csig1: csig1, dn1: dn1, ssig2: ssig2, csig2: csig2, dn2: dn2)
            if sig12 < 1 || l.m12b >= 0 {
                s12x = sig12 < 3 * tiny ? 0 : l.s12b * b
            } else {
                meridian = false
            }
        }
        if !meridian && sbet1 == 0 && lon12 <= 180 * (1 - f) {
            // Along the equator.
            calp1 = 0; calp2 = 0; salp1 = 1; salp2 = 1
            s12x = a * lam12
        } else if !meridian {
            // The general case: a first guess, then Newton's method on α1 (bisection as a safeguard).
            var sig12 = -1.0
            var dnm = 1.0
            do {
                let sbet12 = sbet2 * cbet1 - cbet2 * sbet1
                let cbet12 = cbet2 * cbet1 + sbet2 * sbet1
                let sbet12a = sbet2 * cbet1 + cbet2 * sbet1
                let shortline = cbet12 >= 0 && sbet12 < 0.5 && cbet2 * lam12 < 0.5
                var somg12 = slam12, comg12 = clam12
                if shortline {
                    var sbetm2 = (sbet1 + sbet2) * (sbet1 + sbet2)
                    sbetm2 /= sbetm2 + (cbet1 + cbet2) * (cbet1 + cbet2)
                    dnm = (1 + ep2 * sbetm2).squareRoot()
                    let omg12 = lam12 / (f1 * dnm)
                    somg12 = sin(omg12); comg12 = cos(omg12)
                }
                salp1 = cbet2 * somg12
                calp1 = comg12 >= 0
                    ? sbet12 + cbet2 * sbet1 * somg12 * somg12 / (1 + comg12)
                    : sbet12a - cbet2 * sbet1 * somg12 * somg12 / (1 - comg12)
                let ssig12 = (salp1 * salp1 + calp1 * calp1).squareRoot()
                let csig12 = sbet1 * sbet2 + cbet1 * cbet2 * comg12
                if shortline && ssig12 < etol2 {
                    salp2 = cbet1 * somg12
                    calp2 = sbet12 - cbet1 * sbet2 * (comg12 >= 0 ? somg12 * somg12 / (1 + comg12) : 1 - comg12)
                    normalize(&salp2, &calp2)
                    sig12 = atan2(ssig12, csig12)
                } else if abs(n) > 0.1 || csig12 >= 0 || ssig12 >= 6 * abs(n) * .pi * cbet1 * cbet1 {
                    // The spherical guess is good enough.
                } else {
                    // Nearly antipodal: scale to the astroid problem.
                    let lam12x = atan2(-slam12, -clam12)
                    let k2 = sbet1 * sbet1 * ep2
                    let eps = k2 / (2 * (1 + (1 + k2).squareRoot()) + k2)
                    let lamscale = f * cbet1 * a3(eps) * .pi
                    let betscale = lamscale * cbet1
                    let x = lam12x / lamscale, y = sbet12a / betscale
                    if y > -tol1 && x > -1 - xthresh {
                        salp1 = min(1, -x)
                        calp1 = -(1 - salp1 * salp1).squareRoot()
                    } else {
                        let k = astroid(x, y)
                        let omg12a = lamscale * (-x * k / (1 + k))
                        somg12 = sin(omg12a); comg12 = -cos(omg12a)
                        salp1 = cbet2 * somg12
                        calp1 = sbet12a - cbet2 * sbet1 * somg12 * somg12 / (1 - comg12)
                    }
                }
                if salp1 > 0 { normalize(&salp1, &calp1) } else { salp1 = 1; calp1 = 0 }
            }
            if sig12 >= 0 {
                // Short line solved on the sphere of radius b·dnm.
                s12x = sig12 * b * dnm
            } else {
                var salp1a = tiny, calp1a = 1.0, salp1b = tiny, calp1b = -1.0
                var tripn = false, tripb = false
                var last = lambda12(sbet1: sbet1, cbet1: cbet1, dn1: dn1, sbet2: sbet2, cbet2: cbet2, dn2: dn2,
                                    salp1: salp1, calp1: calp1, lam12: lam12, derivative: true)
                var numit = 0
                while numit < maxit2 {
                    if numit > 0 {
                        last = lambda12(sbet1: sbet1, cbet1: cbet1, dn1: dn1, sbet2: sbet2, cbet2: cbet2, dn2: dn2,
                                        salp1: salp1, calp1: calp1, lam12: lam12, derivative: numit < maxit1)
                    }
                    let v = last.v
                    if tripb || !(abs(v) >= (tripn ? 8 : 1) * tol0) { break }
                    if v > 0 && (numit > maxit1 || calp1 / salp1 > calp1b / salp1b) {
                        salp1b = salp1; calp1b = calp1
                    } else if v < 0 && (numit > maxit1 || calp1 / salp1 < calp1a / salp1a) {
                        salp1a = salp1; calp1a = calp1
                    }
                    numit += 1
                    if numit <= maxit1 && last.dv > 0 {
                        let dalp1 = -v / last.dv
                        if abs(dalp1) < .pi {
                            let sd = sin(dalp1), cd = cos(dalp1)
                            let nsalp1 = salp1 * cd + calp1 * sd
                            if nsalp1 > 0 {
                                calp1 = calp1 * cd - salp1 * sd
                                salp1 = nsalp1
                                normalize(&salp1, &calp1)
                                tripn = abs(v) <= 16 * tol0
                                continue
                            }
                        }
                    }
                    salp1 = (salp1a + salp1b) / 2
                    calp1 = (calp1a + calp1b) / 2
                    normalize(&salp1, &calp1)
                    tripn = false
                    tripb = abs(salp1a - salp1) + (calp1a - calp1) < tolb || abs(salp1 - salp1b) + (calp1 - calp1b) < tolb
                }
                salp2 = last.salp2; calp2 = last.calp2
                let l = lengths(eps: last.eps, sig12: last.sig12, ssig1: last.ssig1, csig1: last.csig1, dn1: dn1,
                                ssig2: last.ssig2, csig2: last.csig2, dn2: dn2)
                s12x = l.s12b * b
            }
        }
        if swapp < 0 {
            swap(&salp1, &salp2)
            swap(&calp1, &calp2)
        }
        salp1 *= swapp * lonsign; calp1 *= swapp * latsign
        salp2 *= swapp * lonsign; calp2 *= swapp * latsign
        return InverseResult(distance: s12x + 0, azimuth1: atan2(salp1, calp1), azimuth2: atan2(salp2, calp2))
    }

    // MARK: Direct

    public static func direct(from p1: Geodetic, azimuth: Double, distance s12: Double) -> DirectResult {
        let lat1 = max(-90, min(90, degrees(p1.latitude)))
        let (salp1, calp1) = sincosd(degrees(azimuth))
        let (sbet1, cbet1) = reduced(lat1)
        let salp0 = salp1 * cbet1
        let calp0 = (calp1 * calp1 + (salp1 * sbet1) * (salp1 * sbet1)).squareRoot()
        var ssig1 = sbet1, csig1 = (sbet1 != 0 || calp1 != 0) ? cbet1 * calp1 : 1
        let somg1 = salp0 * sbet1, comg1 = csig1
        normalize(&ssig1, &csig1)
        let k2 = calp0 * calp0 * ep2
        let eps = k2 / (2 * (1 + (1 + k2).squareRoot()) + k2)
        let a1 = a1m1(eps)
        let cc1 = c1(eps), cc1p = c1p(eps)
        let B11 = sinSeries(ssig1, csig1, cc1)
        let sB = sin(B11), cB = cos(B11)
        let stau1 = ssig1 * cB + csig1 * sB, ctau1 = csig1 * cB - ssig1 * sB
        let tau12 = s12 / (b * (1 + a1))
        let st = sin(tau12), ct = cos(tau12)
        let B12 = -sinSeries(stau1 * ct + ctau1 * st, ctau1 * ct - stau1 * st, cc1p)
        let sig12 = tau12 - (B12 - B11)
        let ssig12 = sin(sig12), csig12 = cos(sig12)
        let ssig2 = ssig1 * csig12 + csig1 * ssig12
        let csig2 = csig1 * csig12 - ssig1 * ssig12
        let sbet2 = calp0 * ssig2
        var cbet2 = (salp0 * salp0 + (calp0 * csig2) * (calp0 * csig2)).squareRoot()
        if cbet2 == 0 { cbet2 = tiny }
        let somg2 = salp0 * ssig2, comg2 = csig2
        let salp2 = salp0, calp2 = calp0 * csig2
        let omg12 = atan2(somg2 * comg1 - comg2 * somg1, comg2 * comg1 + somg2 * somg1)
        let cc3 = c3(eps)
        let B31 = sinSeries(ssig1, csig1, cc3)
        let lam12 = omg12 - f * a3(eps) * salp0 * (sig12 + (sinSeries(ssig2, csig2, cc3) - B31))
        let lat2 = atan2(sbet2, f1 * cbet2)
        let lon2 = wrapAngle(p1.longitude + lam12)
        return DirectResult(position: Geodetic(latitude: lat2, longitude: lon2 == -.pi ? .pi : lon2, height: 0),
                            azimuth2: atan2(salp2, calp2))
    }
}
