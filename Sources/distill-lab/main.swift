import LabCore
BLASKernel.ensureFastKernel()
print(BLASKernel.summary)
