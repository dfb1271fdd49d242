import Testing
@testable import Policies

private func state(_ caps: [Resources], labels: [[String]] = []) -> ClusterState {
    var s = ClusterState()
    for (i, c) in caps.enumerated() {
        s.nodeJoined(NodeSpec(name: "n\(i)", capacity: c, labels: i < labels.count ? labels[i] : []), now: 0)
    }
    return s
}

@Suite("Placement")
struct PlacementTests {
    let caps = [Resources(cpus: 8, memoryMB: 16000, gpus: 1), Resources(cpus: 4, memoryMB: 8000),
                Resources(cpus: 16, memoryMB: 64000), Resources(cpus: 2, memoryMB: 4000)]

    @Test("first-fit takes the lowest-numbered node that fits")
    func firstFit() {
        let s = state(caps)
        let a = Placement(.firstFit).choose(ResourceRequest(cpus: 3), in: CapacityView(s, now: 0), nodes: s.nodes)
        #expect(a?.nodes == [0])
    }

    @Test("best-fit keeps GPU and big nodes free for jobs that need them")
    func bestFit() {
        let s = state(caps)
        let a = Placement(.bestFit).choose(ResourceRequest(cpus: 3), in: CapacityView(s, now: 0), nodes: s.nodes)
        #expect(a?.nodes == [1])   // 4-cpu node without GPU: least left over
        let g = Placement(.bestFit).choose(ResourceRequest(cpus: 1, gpus: 1), in: CapacityView(s, now: 0), nodes: s.nodes)
        #expect(g?.nodes == [0])
    }

    @Test("least-loaded picks the node with the lowest processor load")
    func leastLoaded() throws {
        var s = state(caps)
        try s.start(ofQueued: Job(id: 1, submit: 0, request: ResourceRequest(cpus: 2), estimate: 1), on: 2, cpus: 12)
        let a = Placement(.leastLoaded).choose(ResourceRequest(cpus: 1), in: CapacityView(s, now: 0), nodes: s.nodes)
        #expect(a?.nodes == [0])   // nodes 0, 1, 3 idle; 0 has the most free processors
    }

    @Test("round-robin moves on after each placement")
    func roundRobin() {
        let s = state(caps)
        var p = Placement(.roundRobin)
        var chosen: [Int] = []
        for _ in 0..<5 {
            let a = p.choose(ResourceRequest(cpus: 1), in: CapacityView(s, now: 0), nodes: s.nodes)!
            p.commit(a)
            chosen += a.nodes
        }
        #expect(chosen == [0, 1, 2, 3, 0])
    }

    @Test("labels, memory and GPUs restrict where a job may go")
    func eligibility() {
        let s = state(caps, labels: [[], ["avx"], [], ["avx"]])
        let v = CapacityView(s, now: 0)
        #expect(Placement(.firstFit).choose(ResourceRequest(cpus: 1, labels: ["avx"]), in: v, nodes: s.nodes)?.nodes == [1])
        #expect(Placement(.firstFit).choose(ResourceRequest(cpus: 1, memoryMB: 32000), in: v, nodes: s.nodes)?.nodes == [2])
        #expect(Placement(.firstFit).choose(ResourceRequest(cpus: 1, gpus: 2), in: v, nodes: s.nodes) == nil)
        #expect(Placement(.firstFit).choose(ResourceRequest(cpus: 3, labels: ["avx"]), in: v, nodes: s.nodes)?.nodes == [1])
        #expect(Placement(.firstFit).choose(ResourceRequest(cpus: 5, labels: ["avx"]), in: v, nodes: s.nodes) == nil)
    }

    @Test("spread jobs take processors from several nodes, memory per processor", arguments: PlacementKind.allCases)
    func spread(kind: PlacementKind) throws {
        let s = state(caps)
        let r = ResourceRequest(cpus: 20, memoryMB: 20 * 1000, spread: true)
        let a = try #require(Placement(kind).choose(r, in: CapacityView(s, now: 0), nodes: s.nodes))
        #expect(a.total.cpus == 20)
        #expect(a.slices.allSatisfy { $0.resources.memoryMB == $0.resources.cpus * 1000 })
        for sl in a.slices { #expect(sl.resources.fits(in: caps[sl.node])) }
        #expect(Placement(kind).choose(ResourceRequest(cpus: 31, spread: true), in: CapacityView(s, now: 0), nodes: s.nodes) == nil)
    }
}

extension ClusterState {
    /// Test helper: submit and start a job on one node with `cpus` processors.
    mutating func start(ofQueued job: Job, on node: NodeID, cpus: Int) throws {
        submit(job, now: 0)
        try start(job.id, on: Allocation([Slice(node: node, resources: Resources(cpus: cpus))]), now: 0)
    }
}
