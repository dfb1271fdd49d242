import Foundation
import ILP
import Policies
import Sim

/// A 128-bit FNV-1a hash (two 64-bit lanes with different offsets), as 32 hex digits. Stable
/// across machines and runs; meant to tell files and builds apart, not to resist tampering.
public struct StableHash: Sendable {
    private var a: UInt64 = 0xcbf2_9ce4_8422_2325
    private var b: UInt64 = 0x6c62_272e_07bb_0142

    public init() {}

    public mutating func add(_ data: Data) {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var x = a, y = b
            for byte in raw {
                x = (x ^ UInt64(byte)) &* 0x100_0000_01b3
                y = (y ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ 0x9e37_79b9
            }
            a = x
            b = y
        }
    }

    public mutating func add(_ text: String) { add(Data(text.utf8)); add(Data([0])) }

    public var hex: String {
        func h(_ v: UInt64) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: 16 - s.count) + s }
        return h(a) + h(b)
    }
}

extension Experiment {
    /// What identifies the experiment's inputs: a hash of the experiment file's bytes and of the
    /// bytes of every workload file it names (SWF, JSON), in the file's order. Two copies of the
    /// same files in different places have the same fingerprint; any edit changes it.
    public func fingerprint() throws(ShardError) -> String {
        var h = StableHash()
        guard let own = FileManager.default.contents(atPath: file) else {
            throw ShardError("\(file): cannot read the experiment file to fingerprint it")
        }
        h.add(own)
        for w in workloads {
            switch w.kind {
            case .swf(let p), .json(let p):
                guard let data = FileManager.default.contents(atPath: p) else {
                    throw ShardError("\(file): cannot read workload '\(w.name)' (\(p)) to fingerprint it")
                }
                h.add(w.name)
                h.add(data)
            case .lublin, .poisson:
                continue
            }
        }
        return h.hex
    }

    /// What identifies the build that computes cells, for this experiment: the program's version
    /// and a hash of what this build computes on a fixed probe — a 64-job Lublin workload on 32
    /// processors, and a 64-job Poisson workload on 8 four-core nodes, each simulated under every
    /// policy of the experiment (its policy options included). Two builds that generate or
    /// schedule the probe differently, or report different versions, get different
    /// fingerprints; shards they computed are not merged. Costs a few milliseconds per policy.
    public func buildFingerprint(version: String) throws -> String {
        var h = StableHash()
        h.add(version)
        let lublin = LublinModel().workload(jobs: 64, processors: 32, users: 4, load: 0.9, seed: 2026)
        let poisson = Workload.poisson(jobs: 64, nodes: 8, cpusPerNode: 4, users: 4, load: 0.9, maxRuntime: 3600, seed: 2026)
        for w in [lublin, poisson] {
            h.add(w.swfText())
            for p in policies {
                var sim = Simulator(workload: w, policy: try PolicyCatalog.make(p, options: policyOptions), halfLife: halfLife)
                sim.trace = nil
                h.add(p)
                h.add(Report.jobsCSV(try sim.run()))
            }
        }
        return h.hex
    }
}
