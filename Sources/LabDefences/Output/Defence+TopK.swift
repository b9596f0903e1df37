// Top-k truncation: only the k largest reported entries are returned, as LLM APIs return only the top
// `logprobs` — the surface the logit-bias attacks of Carlini et al. 2024 and Finlayson et al. 2024 start
// from. Not the client's own top-k sampling, and by default not renormalised (APIs report true logprobs).
import LabAPI
import LabCore

public struct TopK: RegisteredDefence {
    public static let registryName = "top_k"
    public static let reference = "report only the k most likely tokens (the `top_logprobs` surface of LLM APIs)"
    public enum Declared {
        /// At most the vocabulary size too, which only the environment knows.
        public static let k = PartParameter.int(
            "k", 5, atLeast: 1, meaning: "entries kept per position (5: the old OpenAI cap on logprobs)")
        public static let renormalise = PartParameter.bool(
            "renormalise", false, meaning: "rescale the k kept values to sum to 1")
    }
    public static let parameterDocs = [Declared.k.doc, Declared.renormalise.doc]
    public let k: Int
    public let renormalise: Bool

    public init(k: Int = Declared.k.defaultValue, renormalise: Bool = Declared.renormalise.defaultValue) {
        self.k = k
        self.renormalise = renormalise
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        let k = try p.read(Declared.k)
        guard k <= environment.vocabularySize else {
            throw LabError.invalidConfig(
                key: p.key(Declared.k.key),
                message: "is \(k); must be in 1...\(environment.vocabularySize) (the vocabulary size)")
        }
        self.init(k: k, renormalise: try p.read(Declared.renormalise))
    }

    public var parameters: [(key: String, value: String)] { [("k", String(k)), ("renormalise", String(renormalise))] }

    public func apply(to rows: inout [DistributionRow]) throws {
        for r in rows.indices {
            // Largest first, ties by token id, so exactly min(k, reported) entries survive.
            let keep = Array(rows[r].rankedReported.prefix(k))
            rows[r].withhold(allBut: keep)
            if renormalise { RowMath.normalise(&rows[r].values, over: keep) }
        }
    }
}
