// Top-k truncation: only the k largest reported entries are returned, as LLM APIs return only the top
// `logprobs` — the surface the logit-bias attacks of Carlini et al. 2024 and Finlayson et al. 2024 start
// from. Not the client's own top-k sampling, and by default not renormalised (APIs report true logprobs).
import LabAPI
import LabCore

public struct TopK: RegisteredDefence {
    public static let registryName = "top_k"
    public static let reference = "report only the k most likely tokens (the `top_logprobs` surface of LLM APIs)"
    public static let parameterDocs = [
        ParameterDoc("k", "5", "entries kept per position (5: the old OpenAI cap on logprobs)"),
        ParameterDoc("renormalise", "false", "rescale the k kept values to sum to 1"),
    ]
    public let k: Int
    public let renormalise: Bool

    public init(k: Int = 5, renormalise: Bool = false) {
        self.k = k
        self.renormalise = renormalise
    }

    public init(parameters p: inout DefenceParameters, environment: DefenceEnvironment) throws {
        let k = try p.int(
            "k", 5, valid: { $0 >= 1 && $0 <= environment.vocabularySize },
            "must be in 1...\(environment.vocabularySize) (the vocabulary size)")
        self.init(k: k, renormalise: try p.bool("renormalise", false))
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
