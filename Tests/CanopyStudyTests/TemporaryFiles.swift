import Foundation

/// Writes text to a new file in the temporary directory and returns its path.
func writeTemporary(_ text: String) throws -> String {
    let path = NSTemporaryDirectory() + "canopy-study-test-\(getpid())-\(UUID().uuidString).yaml"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}
