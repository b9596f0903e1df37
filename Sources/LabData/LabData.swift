// LabData: corpora with known statistics, built deterministically from a seed.
