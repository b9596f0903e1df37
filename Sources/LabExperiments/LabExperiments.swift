// LabExperiments
