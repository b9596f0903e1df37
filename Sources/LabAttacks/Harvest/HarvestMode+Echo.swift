// Echo harvest: one `echo` query per prompt with `logprobs: k` — the top-k next-token logprobs at every
// prompt position, plus the logprob of the prompt's own next token (the legacy completions API with
// `echo=true, max_tokens=0`). Many targets per query; the position after the prompt is not reported.
import LabAPI

public struct EchoHarvest: RegisteredHarvestMode {
    public static let registryName = "echo"
    public static let reference = "top-k logprobs at every prompt position (legacy `echo=true`, `max_tokens=0`)"
    public enum Declared {
        public static let k = PartParameter.int(
            "k", 5, atLeast: 1,
            meaning: "entries per position (at most the API's `max_logprobs`); k ≥ V gives full distributions")
    }
    public static let parameterDocs = [Declared.k.doc]
    public let k: Int

    public init(k: Int = Declared.k.defaultValue) { self.k = k }

    public init(parameters p: inout AttackParameters, environment: AttackEnvironment?) throws {
        k = try p.read(Declared.k)
        if let env = environment { try checkLogprobs(k, key: p.key("k"), environment: env) }
    }

    public var parameters: [(key: String, value: String)] { [("k", String(k))] }
    public var coverage: TargetCoverage { .every }
    public func maxPromptLength(contextLength: Int) -> Int { contextLength }

    public func queries(for prompt: [Int32], vocabularySize: Int) -> [Query] { [.echo(prompt, logprobs: k)] }

    public func record(prompt: [Int32], responses: [Response], vocabularySize V: Int) -> HarvestRecord {
        var targets: [PositionTarget] = []
        if let r = responses.first {
            for t in 0..<max(0, prompt.count - 1) {
                var entries = t < r.topLogprobs.count ? r.topLogprobs[t] : []
                // The logprob of the token the prompt actually continues with is reported too.
                let next = prompt[t + 1]
                if t < r.tokenLogprobs.count, let lp = r.tokenLogprobs[t],
                    !entries.contains(where: { $0.token == next })
                {
                    entries.append(TokenLogprob(token: next, logprob: lp))
                }
                if !entries.isEmpty { targets.append(target(position: t, entries: entries, vocabularySize: V)) }
            }
        }
        return HarvestRecord(text: prompt, promptLength: prompt.count, targets: targets, usage: cost(responses))
    }
}
