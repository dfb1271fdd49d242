import Foundation
import FuzzInputs
import API
import Server
import Testing

/// Request bodies kept from fuzzing (scripts/fuzz.sh): crash inputs (`fuzz/regressions/request/`)
/// the seeds and the minimized corpus (`fuzz/corpus/request/`) go through every `APIRequest` decoder, as
/// the fuzz target does: each is accepted or refused with an `APIError`, and what a decoder
/// canonicalizes reads back as itself.
@Suite struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [(name: String, data: Data)] { fuzzInputs(target) }

    @Test("fuzz inputs: request bodies, paths and headers") func requests() {
        let inputs = Self.inputs("request")
        #expect(inputs.count > 9)
        for (name, data) in inputs {
            for r in APIRequest.allCases {
                let canonical: String?
                do { canonical = try r.decode(data) } catch {
                    #expect(error is APIError, "\(name) \(r.rawValue): \(error)")
                    continue
                }
                guard let canonical else { continue }
                do {
                    let again = try r.decode(Data(canonical.utf8))
                    #expect(again == canonical, "\(name) \(r.rawValue)")
                } catch {
                    Issue.record("\(name) \(r.rawValue): canonical form \(canonical) refused: \(error)")
                }
            }
        }
    }
}
