import CanopyBattle
import Foundation

/// The picture as JSON: one object per entity (a track, a fire unit, an engagement, a region),
/// so that an update can carry only what changed.
enum PictureJSON {
    static func track(_ t: Picture.TrackView) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", t.id)
        w.field("class", t.threatClass)
        w.key("probabilities"); w.beginObject()
        // Those that print as 0 at three decimals are left out, as zeros are (docs/api.md).
        for p in t.classProbabilities where p.probability >= 0.0005 { w.field(p.threatClass, p.probability, digits: 3) }
        w.endObject()
        w.field("lat", t.latitude, digits: 6); w.field("lon", t.longitude, digits: 6); w.field("alt", t.altitude, digits: 0)
        w.field("course", t.course, digits: 1); w.field("speed", t.speed, digits: 1); w.field("climb", t.climb, digits: 1)
        w.field("sigmaH", t.sigmaHorizontal, digits: 0); w.field("sigmaV", t.sigmaVertical, digits: 0)
        w.field("aimAsset", t.aimAsset)
        w.field("aimLat", t.aimLatitude, digits: 5); w.field("aimLon", t.aimLongitude, digits: 5)
        w.field("timeToImpact", t.timeToImpact, digits: 0)
        w.field("valueAtRisk", t.valueAtRisk, digits: 0)
        w.field("rank", t.rank)
        w.field("engagedBy", t.engagedBy)
        w.key("path"); w.beginArray()
        for p in t.predicted {
            w.beginArray(); w.number(p.latitude, digits: 5); w.number(p.longitude, digits: 5); w.number(p.ahead, digits: 0); w.endArray()
        }
        w.endArray()
        w.field("lastUpdate", t.lastUpdate, digits: 1)
        w.endObject()
        return w.text
    }

    static func fireUnit(_ f: Picture.FireUnitView) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", f.id); w.field("type", f.type); w.field("name", f.displayName); w.field("kind", f.kind)
        w.field("lat", f.latitude, digits: 6); w.field("lon", f.longitude, digits: 6)
        w.field("minRange", f.minRange, digits: 0); w.field("maxRange", f.maxRange, digits: 0)
        w.field("roundsLeft", f.roundsLeft); w.field("magazine", f.magazine)
        w.field("channelsBusy", f.channelsBusy); w.field("channels", f.channels)
        w.field("costPerShot", f.costPerShot, digits: 0)
        w.endObject()
        return w.text
    }

    static func sensor(_ s: Picture.SensorView) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", s.id)
        w.field("kind", s.kind)
        w.field("type", s.type)
        w.field("lat", s.latitude, digits: 6)
        w.field("lon", s.longitude, digits: 6)
        w.field("maxRange", s.maxRange, digits: 0)
        w.field("nodes", s.nodes)
        w.endObject()
        return w.text
    }

    static func engagement(_ e: Picture.EngagementView) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", e.id); w.field("fireUnit", e.fireUnit); w.field("track", e.track); w.field("rounds", e.rounds)
        w.field("lat", e.interceptLatitude, digits: 6); w.field("lon", e.interceptLongitude, digits: 6)
        w.field("time", e.interceptTime, digits: 1); w.field("pk", e.killProbability, digits: 3); w.field("class", e.threatClass)
        w.endObject()
        return w.text
    }

    static func region(_ r: Picture.RegionView) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("id", r.id); w.field("name", r.name); w.field("alert", r.alert)
        w.field("since", r.since, digits: 1); w.field("expectedImpact", r.expectedImpact, digits: 0)
        w.endObject()
        return w.text
    }
}

/// One entity kind's last-sent JSON, by id: what a delta is computed against.
struct EntityTable {
    var byID: [String: String] = [:]

    /// Replaces the table with `current` and returns what changed: upserts and removed ids.
    mutating func update(_ current: [(id: String, json: String)]) -> (upsert: [String], remove: [String]) {
        var upsert: [String] = []
        var next: [String: String] = [:]
        next.reserveCapacity(current.count)
        for (id, json) in current {
            if byID[id] != json { upsert.append(json) }
            next[id] = json
        }
        let remove = byID.keys.filter { next[$0] == nil }.sorted()
        byID = next
        return (upsert, remove)
    }

    var all: [String] { byID.keys.sorted().map { byID[$0]! } }
}

/// Turns a stream of pictures into messages: a full snapshot, then deltas (entities whose JSON
/// changed, ids removed, and the events that happened since the last message).
struct PictureDiffer {
    var tracks = EntityTable(), units = EntityTable(), engagements = EntityTable(), regions = EntityTable(), sensors = EntityTable()
    var time = 0.0

    /// The delta from the last picture to `p`, with `events` (JSON objects) attached. The first
    /// call gives every entity as an upsert.
    mutating func delta(_ p: Picture, events: [String], status: String) -> String {
        time = p.time
        let t = tracks.update(p.tracks.map { (String($0.id), PictureJSON.track($0)) })
        let u = units.update(p.fireUnits.map { ($0.id, PictureJSON.fireUnit($0)) })
        let e = engagements.update(p.engagements.map { (String($0.id), PictureJSON.engagement($0)) })
        let r = regions.update(p.regions.map { ($0.id, PictureJSON.region($0)) })
        let s = sensors.update(p.sensors.map { ($0.id, PictureJSON.sensor($0)) })
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "delta")
        w.field("time", p.time, digits: 1)
        w.field("status", status)
        for (name, d) in [("tracks", t), ("fireUnits", u), ("engagements", e), ("regions", r), ("sensors", s)] {
            w.key(name); w.beginObject()
            w.key("upsert"); w.beginArray(); for j in d.upsert { w.raw(j) }; w.endArray()
            w.key("remove"); w.beginArray(); for id in d.remove { w.string(id) }; w.endArray()
            w.endObject()
        }
        w.key("events"); w.beginArray(); for j in events { w.raw(j) }; w.endArray()
        w.endObject()
        return w.text
    }

    /// Everything in the last picture, as one message (what a client joining now is sent).
    func snapshot(status: String, recentEvents: [String]) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "snapshot")
        w.field("time", time, digits: 1)
        w.field("status", status)
        for (name, table) in [("tracks", tracks), ("fireUnits", units), ("engagements", engagements), ("regions", regions),
                              ("sensors", sensors)] {
            w.key(name); w.beginArray(); for j in table.all { w.raw(j) }; w.endArray()
        }
        w.key("events"); w.beginArray(); for j in recentEvents { w.raw(j) }; w.endArray()
        w.endObject()
        return w.text
    }

    /// A full picture as one JSON object (stored frames, the /picture endpoint).
    static func full(_ p: Picture) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("time", p.time, digits: 1)
        w.key("tracks"); w.beginArray(); for t in p.tracks { w.raw(PictureJSON.track(t)) }; w.endArray()
        w.key("fireUnits"); w.beginArray(); for f in p.fireUnits { w.raw(PictureJSON.fireUnit(f)) }; w.endArray()
        w.key("engagements"); w.beginArray(); for e in p.engagements { w.raw(PictureJSON.engagement(e)) }; w.endArray()
        w.key("regions"); w.beginArray(); for r in p.regions { w.raw(PictureJSON.region(r)) }; w.endArray()
        w.key("sensors"); w.beginArray(); for s in p.sensors { w.raw(PictureJSON.sensor(s)) }; w.endArray()
        w.endObject()
        return w.text
    }
}
