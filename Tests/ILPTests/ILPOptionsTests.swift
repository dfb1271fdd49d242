import Testing
import ILP
import Policies

@Suite struct ILPOptionsTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return (error as? PolicySpec.ParseError)?.message ?? "\(error)" }
    }

    @Test func rejectsANegativeBudget() {
        let m = message { try ILPOptions(timeLimitMs: -5).validate() }
        #expect(m?.contains("time limit") == true && m?.contains("-5") == true)
    }

    @Test func rejectsAnUnknownObjective() {
        let m = message { _ = try PolicyCatalog.make("ilp:cheapest") }
        #expect(m?.contains("unknown ILP objective 'cheapest'") == true)
        #expect(m?.contains("throughput, fairness, energy, combined") == true)
        #expect(message { _ = try ILPOptions.parseObjective("speed") } != nil)
    }

    @Test func rejectsOtherBadOptions() {
        #expect(message { try ILPOptions(mipGap: 1.5).validate() }?.contains("gap") == true)
        #expect(message { try ILPOptions(batchSize: 0).validate() }?.contains("batch size") == true)
        #expect(message { try ILPOptions(fallback: "ilp").validate() }?.contains("heuristic") == true)
        #expect(message { try ILPOptions(fallback: "fastest").validate() }?.contains("fallback 'fastest'") == true)
        var o = ILPOptions()
        #expect(message { try o.applyWeights("fairness=-1") }?.contains("≥ 0") == true)
        #expect(message { try o.applyWeights("speed=2") }?.contains("unknown ILP weight 'speed'") == true)
    }

    @Test func namesAndObjectives() throws {
        #expect(try PolicyCatalog.make("ilp").name == "ilp")
        #expect(try PolicyCatalog.make("ILP:Energy").name == "ilp:energy")
        let p = try PolicyCatalog.make("ilp:combined", ilpWeights: "energy=0.1") as! ILPBatchPolicy
        #expect(p.options.fairnessWeight == 1 && p.options.energyWeight == 0.1)
        #expect(try PolicyCatalog.make("fcfs+easy").name == "fcfs+easy")
    }
}

@Suite struct ILPNameTests {
    @Test func modifiersInTheName() throws {
        let p = try PolicyCatalog.make("ilp:throughput,size=0") as! ILPBatchPolicy
        #expect(p.options.sizeExponent == 0)
        #expect(p.name == "ilp:throughput,size=0.0")
        #expect((try PolicyCatalog.make(p.name) as! ILPBatchPolicy).options.sizeExponent == 0)
        #expect(throws: PolicySpec.ParseError.self) { _ = try PolicyCatalog.make("ilp:throughput,size=7") }
        let q = try PolicyCatalog.make("ilp:fairness,short=1,reserve=off") as! ILPBatchPolicy
        #expect(q.options.shortness == 1 && !q.options.reserve && q.name == "ilp:fairness,short=1.0,reserve=off")
        #expect(throws: PolicySpec.ParseError.self) { _ = try PolicyCatalog.make("ilp:throughput,reserve=maybe") }
        #expect(throws: PolicySpec.ParseError.self) { _ = try PolicyCatalog.make("ilp:energy,colour=3") }
    }
}
