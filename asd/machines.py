"""The 15 machine types of DCASE 2025 Task 2 and which of them hide their attributes."""

DEV_MACHINES = ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve")
EVAL_MACHINES = ("AutoTrash", "BandSealer", "CoffeeGrinder", "HomeCamera",
                 "Polisher", "ScrewFeeder", "ToyPet", "ToyRCCar")
ALL_MACHINES = DEV_MACHINES + EVAL_MACHINES

# In the real task these types carry `noAttribute` in their file names.
HIDDEN_ATTRIBUTES = frozenset({"bearing", "slider", "ToyTrain",
                               "AutoTrash", "Polisher", "ScrewFeeder", "ToyPet"})

SECTION = "00"  # DCASE 2025 has one section per machine type


def dataset_of(machine: str) -> str:
    """'dev' for development types, 'eval' for additional/evaluation types."""
    if machine in DEV_MACHINES:
        return "dev"
    if machine in EVAL_MACHINES:
        return "eval"
    raise ValueError(f"unknown machine type {machine!r}; known: {', '.join(ALL_MACHINES)}")
