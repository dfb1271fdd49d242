import Foundation
import Policies
import Testing
@testable import API
@testable import Server

@Suite struct ParsingTests {
    @Test(arguments: [
        ("{\"command\":[]}", "command"),
        ("{\"name\":\"x\"}", "command"),
        ("{\"command\":[\"a\"],\"resources\":{\"cpus\":0}}", "resources.cpus"),
        ("{\"command\":[\"a\"],\"resources\":{\"cpus\":1,\"disk\":3}}", "resources.disk"),
        ("{\"command\":[\"a\"],\"resources\":{\"memory_mb\":-1}}", "resources.memory_mb"),
        ("{\"command\":[\"a\"],\"max_attempts\":0}", "max_attempts"),
        ("{\"command\":[\"a\"],\"timeout_s\":\"long\"}", "timeout_s"),
        ("{\"command\":[\"a\"],\"after\":[1,1]}", "after"),
        ("{\"command\":[\"a\"],\"env\":{\"A=B\":\"x\"}}", "env.A=B"),
        ("{\"command\":[\"a\"],\"labels\":[\"bad label\"]}", "labels[0]"),
        ("{\"command\":[\"a\"],\"extra\":true}", "extra"),
        ("{\"command\":[\"a\"],\"image\":\"Debian:12\"}", "image"),
        ("{\"command\":[\"a\"],\"image\":7}", "image"),
        ("[1,2]", "body"),
        ("{\"command\":[\"a\"],\"priority\":true}", "priority"),
        ("{\"command\":[\"a\"],\"timeout_s\":1.5}", "timeout_s"),
        ("{\"command\":[\"a\"],\"isolate_network\":1}", "isolate_network"),
        ("{\"command\":[\"a\",7]}", "command[1]"),
        ("{\"command\":[\"a\"],\"resources\":[]}", "resources"),
        ("{\"command\":[\"a\"],\"zzz\":1,\"aaa\":2}", "aaa"),
    ])
    func badJobSpecsNameTheField(body: String, field: String) throws {
        do {
            _ = try decodeRequest(V1.JobSubmission.self, from: Data(body.utf8))
            Issue.record("accepted \(body)")
        } catch let e as APIError {
            #expect(e.status == 400)
            #expect(e.field == field, "\(e)")
        }
    }

    @Test func malformedJSONIsInvalidJSON() {
        #expect(throws: APIError.self) { _ = try decodeRequest(V1.JobSubmission.self, from: Data("{\"command\": [".utf8)) }
        do { _ = try decodeRequest(V1.JobSubmission.self, from: Data("{nope".utf8)) } catch let e as APIError {
            #expect(e.code == "invalid_json")
        } catch { Issue.record("\(error)") }
    }

    @Test func fullJobSpecRoundTripsThroughStorage() throws {
        let body = """
        {"name":"sweep-7","command":["sh","-c","echo hi"],"setup":["pip","install","numpy"],"isolate_network":true,
         "env":{"INDEX":"7"},"resources":{"cpus":2,"memory_mb":256,"gpus":1},"labels":["linux","cuda"],"timeout_s":100,
         "estimate_s":50,"max_attempts":2,"priority":5,"after":[1],"fingerprint":"sha256:x","image":"localhost:5000/lab/sim:1.4"}
        """
        let s = JobSpec(try decodeRequest(V1.JobSubmission.self, from: Data(body.utf8)))
        #expect(s.cpus == 2 && s.gpus == 1 && s.isolateNetwork && s.labels == ["cuda", "linux"] && s.estimateS == 50)
        #expect(s.request.labels.contains(JobSpec.isolationLabel))
        #expect(s.image == "localhost:5000/lab/sim:1.4" && s.request.labels.contains(JobSpec.containerLabel))
        let stored = try s.canonicalJSON()
        let back = JobSpec(try decodeRequest(V1.JobSubmission.self, from: Data(stored.utf8)))
        #expect(back == s)
        #expect(try back.canonicalJSON() == stored)
    }

    @Test(arguments: ["../x", "..", ".", "a/../b", "/etc/passwd", "a\\b", "a//b", "a/", "", "a b", "ü.txt", "a/./b",
                      String(repeating: "a/", count: 20) + "x"])
    func artifactNamesThatEscapeAreRefused(name: String) {
        #expect(throws: APIError.self) { _ = try FileStore.validateArtifactName(name) }
    }

    @Test(arguments: ["a.txt", "plots/a.png", "x-1_y.tar.gz", ".hidden", "a/b/c/d"])
    func plainArtifactNamesAreAccepted(name: String) throws {
        _ = try FileStore.validateArtifactName(name)
    }

    @Test func timestampsAreRFC3339WithMicroseconds() {
        #expect(Timestamp.format(0) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.format(1_795_397_216_859_360) == "2026-11-23T01:26:56.859360Z")
        #expect(Timestamp.format(951_782_400_000_001) == "2000-02-29T00:00:00.000001Z")
    }

    @Test func tokensAreRandomAndHashed() {
        let a = Tokens.generate(), b = Tokens.generate()
        #expect(a != b && a.hasPrefix("dbg_") && a.count == 47)
        #expect(Tokens.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
