import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a bare WebSocket client read from one connection: the HTTP status line, the text
/// messages in order, the close frame's code, and what went wrong, if anything.
struct RawWebSocketResult: Sendable {
    var status = ""
    var texts: [String] = []
    var closeCode: UInt16? = nil
    var error: String? = nil
}

/// Connects to 127.0.0.1:`port`, asks for a WebSocket at `path`, and reads until the server's
/// close frame (or the end of the connection, or `timeout` seconds without a byte), on a thread
/// of its own with a blocking socket.
///
/// The end-of-stream test reads the bytes itself because NIO's WebSocket client (swift-nio
/// 2.101's typed HTTP client upgrade handler) can lose what arrives in the same read as the 101
/// response when the server's end of output (its FIN after the close frame) comes with it: the
/// HTTP decoder drops the bytes left over once it has seen the end of input, and the end of
/// input itself reaches no one, so the client waits for ever. A server that has nothing more to
/// send sends all of it at once; this client sees exactly what was sent.
func rawWebSocket(port: Int, path: String, timeout: Int = 15) async -> RawWebSocketResult {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: rawWebSocketBlocking(port: port, path: path, timeout: timeout)) }.start()
    }
}

private func rawWebSocketBlocking(port: Int, path: String, timeout: Int) -> RawWebSocketResult {
    var r = RawWebSocketResult()
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { r.error = "socket: errno \(errno)"; return r }
    defer { close(fd) }
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { r.error = "connect: errno \(errno)"; return r }
    let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    let bytes = Array(request.utf8)
    guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
        r.error = "send: errno \(errno)"; return r
    }
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    /// Reads more; false at the end of the connection or after `timeout` seconds of silence.
    func fill() -> Bool {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }
    // The response's head.
    let crlf2: [UInt8] = [13, 10, 13, 10]
    while true {
        if buffer.count >= 4, let end = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<$0 + 4]) == crlf2 }) {
            let head = String(decoding: buffer[0..<end], as: UTF8.self)
            r.status = String(head.split(separator: "\r\n").first ?? "")
            buffer.removeFirst(end + 4)
            break
        }
        guard fill() else { r.error = "the connection ended before the response's head"; return r }
    }
    guard r.status.contains(" 101") else { return r }
    // Frames (RFC 6455 §5.2): the server's are unmasked; a message may come in fragments.
    var message: [UInt8] = []
    while true {
        var header = 2
        var length = 0
        if buffer.count >= 2 {
            let short = Int(buffer[1] & 0x7F)
            if short == 126 { header = 4 } else if short == 127 { header = 10 }
            if buffer[1] & 0x80 != 0 { header += 4 }
            if buffer.count >= header {
                if short == 126 { length = Int(buffer[2]) << 8 | Int(buffer[3]) } else if short == 127 {
                    length = (2..<10).reduce(0) { $0 << 8 | Int(buffer[$1]) }
                } else { length = short }
            }
        }
        guard buffer.count >= 2, buffer.count >= header, buffer.count >= header + length else {
            guard fill() else { r.error = "the connection ended (or fell silent) without a close frame"; return r }
            continue
        }
        let fin = buffer[0] & 0x80 != 0, opcode = buffer[0] & 0x0F
        let payload = Array(buffer[header..<header + length])
        buffer.removeFirst(header + length)
        switch opcode {
        case 0x1, 0x0:
            message += payload
            if fin { r.texts.append(String(decoding: message, as: UTF8.self)); message = [] }
        case 0x8:
            if payload.count >= 2 { r.closeCode = UInt16(payload[0]) << 8 | UInt16(payload[1]) }
            return r
        default:
            continue   // ping, pong, binary: not this stream's
        }
    }
}
