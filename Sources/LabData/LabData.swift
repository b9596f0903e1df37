// LabData: corpora with known statistics, built deterministically from a seed, and the
// `LanguageModel` that pairs a GPT with the corpus it learns from.
// Entry point: `CorpusSpec(...).build()` → `Corpus`; `BatchSampler` turns a split into training batches;
// `LanguageModel.train(corpus:...)` trains, evaluates and checkpoints a model on it.
