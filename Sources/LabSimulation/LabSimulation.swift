// LabSimulation
