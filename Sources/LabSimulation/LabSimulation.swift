// LabSimulation: one import for scripts and researchers' packages that use the whole simulation — it
// re-exports the rooms below and holds no code of its own. Code inside the lab imports the rooms it needs.
@_exported import LabAPI
@_exported import LabAttacks
@_exported import LabCampaigns
@_exported import LabDefences
@_exported import LabForensics
