// A toy extraction kind registered the way the `attack` kind is: its own `attack:` section with a
// budget, the shared teacher, api and defences sections. It buys label answers through the defended API
// until the ledger refuses, and reports how often they agree with the undefended teacher. Tests only.
import Foundation
import LabAPI
import LabCore
import LabDefences
import LabExperiments

enum ToyAttackKind: ExperimentKind {
    struct Settings: Decodable {
        var budget: BudgetSpec
        var promptLength = 4

        enum Keys: String, CodingKey { case attack }
        enum AttackKeys: String, CodingKey { case budget, promptLength = "prompt_length" }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            let a = try c.nestedContainer(keyedBy: AttackKeys.self, forKey: .attack)
            budget = try a.decode(BudgetSpec.self, forKey: .budget)
            promptLength = try a.decodeIfPresent(Int.self, forKey: .promptLength) ?? 4
        }
    }

    struct Resolved: Encodable {
        var teacher: TeacherSpec
        var api: APISpec
        var defences: [ResolvedDefence]
        var budget: BudgetSpec
        var promptLength: Int
        var seed: UInt64
        var specs: [DefenceSpec]
        enum CodingKeys: String, CodingKey { case teacher, api, defences, budget, promptLength = "prompt_length", seed }
    }

    static let name = "toy_attack"
    static let summary = "label queries bought within a budget (a test double for the attack kind)"
    static let version = 1
    static let reads: [SharedSection] = [.teacher, .api, .defences]
    static let settingsKeys = ["attack"]
    static let seedMeaning = "the attacker's prompts"
    /// An anytime curve: the numbers after 2, 4, 8, … queries, as the attack kind's budget milestones.
    static let curveAxis: String? = "queries_bought"
    static let outputs = [
        OutputDoc("label_agreement", .metric, "fraction of bought labels equal to the undefended teacher's top-1"),
        OutputDoc("queries", .cost, "queries the ledger charged"),
        OutputDoc("tokens", .cost, "input + output tokens charged"),
        OutputDoc("dollars", .cost, "dollars charged"),
    ]
    static let maxQueries = 24

    static func resolve(_ cell: CellInput<Settings>, in context: ValidationContext) throws -> Resolved {
        let teacher = try cell.requireTeacher()
        let probe = try context.validate(teacher)
        let api = try (cell.api ?? APISpec()).resolved(vocabularySize: probe.vocabularySize, in: cell)
        let T = teacher.model.contextLength
        let p = cell.settings.promptLength
        guard (1...T).contains(p) else {
            throw SpecIssue(["attack", "prompt_length"], "is \(p); allowed range 1...\(T)")
        }
        if let issue = cell.settings.budget.issues(
            at: ["attack", "budget"], inputTokens: p, outputTokens: 1, prices: api.prices
        ).first {
            throw issue
        }
        let specs = cell.defences ?? []
        let defences = try context.resolve(specs, vocabularySize: probe.vocabularySize, contextLength: T)
        return Resolved(
            teacher: teacher, api: api, defences: defences, budget: cell.settings.budget, promptLength: p,
            seed: cell.seed, specs: specs)
    }

    static func run(_ cell: Resolved, in context: RunContext) throws -> CellResult {
        let trained = try context.teacher(cell.teacher)
        let teacher = GPTTeacher(trained.model)
        let pipeline = try DefenceRegistry.pipeline(
            cell.specs,
            environment: DefenceEnvironment(
                vocabularySize: teacher.vocabularySize, contextLength: teacher.contextLength))
        let ledger = Ledger(prices: cell.api.prices)
        let maxCost = try cell.budget.dollars.map { try Money(dollars: $0) }
        try ledger.open(
            "attacker", budget: Budget(maxQueries: cell.budget.queries, maxTokens: cell.budget.tokens, maxCost: maxCost)
        )
        let api = DefendedAPI(
            teacher: teacher, policy: cell.api.policy, defences: pipeline, ledger: ledger, seed: cell.seed)
        var rng = LabRNG(seed: cell.seed, stream: "toy-attack-prompts")
        let tokens = trained.corpus.train
        var agree = 0, bought = 0
        var curve: [CellResult.Point] = []
        func costs() -> [CellResult.Entry] {
            let usage = ledger.usage("attacker") ?? .zero
            return [
                .init("queries", Double(usage.queries)), .init("tokens", Double(usage.tokens)),
                .init("dollars", NSDecimalNumber(decimal: usage.cost.dollars).doubleValue),
            ]
        }
        for _ in 0..<maxQueries {
            let start = rng.int(below: tokens.count - cell.promptLength)
            let prompt = tokens[start..<(start + cell.promptLength)].map(Int32.init)
            let answer: Response
            do { answer = try api.call(.label(prompt), account: "attacker") } catch is APIRefusal { break }
            let truth = try teacher.answer([.label(prompt)], defences: .none, seed: 0)[0]
            bought += 1
            if answer.tokens == truth.tokens { agree += 1 }
            if bought.nonzeroBitCount == 1, bought >= 2 {
                curve.append(
                    CellResult.Point(
                        label: String(bought), metrics: [.init("label_agreement", Double(agree) / Double(bought))],
                        costs: costs()))
            }
        }
        return CellResult(
            metrics: [.init("label_agreement", bought > 0 ? Double(agree) / Double(bought) : nil)], costs: costs(),
            curve: curve)
    }
}
