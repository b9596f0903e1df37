// LabSimulation: the teacher behind an API (queries, policy, ledger, defences, benign cost); attacks,
// students and the gateway come next. This file holds nothing: each concern has its own file.
