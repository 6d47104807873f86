import CanopyCore
import Foundation
import Testing

@Suite("Input files: the reason a path cannot be read")
struct InputFileTests {
    @Test("A missing path, a directory and a readable file are told apart; a directory is refused by read")
    func reasons() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-inputfile-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.json")
        try Data("{}".utf8).write(to: file)

        #expect(InputFile.whyUnreadable(path: dir.appendingPathComponent("missing.json").path) == "no such file")
        #expect(InputFile.whyUnreadable(path: dir.path) == "is a directory, not a file")
        #expect(InputFile.whyUnreadable(path: file.path) == "cannot be read")
        #expect(try InputFile.read(path: file.path) == Array("{}".utf8))
        #expect(try InputFile.read(path: "/dev/null").isEmpty)  // a device reads as an empty file

        func failure(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "read" } catch let e as InputFileError { return e.message } catch { return "\(error)" }
        }
        func message(_ path: String) -> String { failure { try InputFile.read(path: path) } }
        func textMessage(_ path: String) -> String { failure { try InputFile.readText(path: path) } }
        #expect(message(dir.path) == "is a directory, not a file")
        #expect(message(dir.appendingPathComponent("missing.json").path) == "no such file")
        // A link to an endless device is refused after 64 MiB, not read until memory runs out.
        let zero = dir.appendingPathComponent("zero.yaml")
        try FileManager.default.createSymbolicLink(atPath: zero.path, withDestinationPath: "/dev/zero")
        #expect(message(zero.path) == "is a device that gave more than 64 MiB; give a file")
        #expect(textMessage(zero.path) == "is a device that gave more than 64 MiB; give a file")

        // Text: read as stored (not decompressed), and refused when not UTF-8.
        let latin1 = dir.appendingPathComponent("latin1.yaml")
        try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xE9]).write(to: latin1)
        #expect(try InputFile.readText(path: file.path) == "{}")
        #expect(textMessage(latin1.path) == InputFile.notUTF8)
        #expect(textMessage(dir.path) == "is a directory, not a file")
        // A byte-order mark is dropped (YAML's parser read it as content before the document).
        let bom = dir.appendingPathComponent("bom.yaml")
        try Data([0xEF, 0xBB, 0xBF] + Array("name: x".utf8)).write(to: bom)
        #expect(try InputFile.readText(path: bom.path) == "name: x")
    }
}
