// LabData: corpora with known statistics, built deterministically from a seed.
// Entry point: `CorpusSpec(...).build()` → `Corpus`; `BatchSampler` turns a split into training batches.
// This module produces token ids only; it trains nothing and knows nothing of models.
