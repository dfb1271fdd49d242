import Testing
@testable import API

/// Image references as podman and docker accept them (the distribution project's grammar).
@Suite struct ImageReferenceTests {
    @Test(arguments: [
        "debian", "debian:12", "library/debian:bookworm-slim", "localhost/deborgen-test:abc123", "localhost:5000/lab/sim:1.4",
        "registry.example.org/a/b/c", "ghcr.io/owner/tool_x:v1.2.3-rc.1", "my-image__x.y", "a--b",
        "debian@sha256:" + String(repeating: "ab", count: 32), "quay.io/x/y:1@sha256:" + String(repeating: "0", count: 64),
        "UPPER.example/x:Tag_1",
    ])
    func validReferencesAreAccepted(ref: String) {
        #expect(ImageReference.problem(ref) == nil, "\(ImageReference.problem(ref) ?? "")")
    }

    @Test(arguments: [
        ("", "empty"), ("--privileged", "path component"), ("-it", "path component"), ("Debian", "lowercase"),
        ("debian 12", "spaces"), ("debian:", "tag"), ("debian:-x", "tag"), (":12", "name is missing"), ("a//b", "empty path component"),
        ("/debian", "empty path component"), ("debian/", "empty path component"), ("a..b", "path component"), ("a_-b", "path component"),
        ("x@sha256:12", "digest"), ("x@:" + String(repeating: "a", count: 64), "digest"), ("reg:port/x", "port"),
        ("-reg.example/x", "host name"), ("debian:" + String(repeating: "t", count: 129), "tag"),
        (String(repeating: "a", count: 256), "longer than 255"), ("déb", "printable ASCII"),
    ])
    func badReferencesSayWhy(ref: String, why: String) {
        let p = ImageReference.problem(ref)
        #expect(p?.contains(why) == true, "\(ref): \(p ?? "accepted")")
    }
}
