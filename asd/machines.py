"""The 15 machine types of DCASE 2025 Task 2 and which of them hide their attributes.

Only the synthetic generator (asd/synth/: its sound models) and `make download` (asd/download.py:
the Zenodo archive names) use these names. Everything else takes any machine folder of a data root;
whether a machine is a development or an evaluation type is where its folder is
(asd.dataset.machine_part), and its name is checked by asd.dataset.check_machine_name.
"""

DEV_MACHINES = ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve")
EVAL_MACHINES = ("AutoTrash", "BandSealer", "CoffeeGrinder", "HomeCamera",
                 "Polisher", "ScrewFeeder", "ToyPet", "ToyRCCar")
ALL_MACHINES = DEV_MACHINES + EVAL_MACHINES

# In the real task these types carry `noAttribute` in their file names.
HIDDEN_ATTRIBUTES = frozenset({"bearing", "slider", "ToyTrain",
                               "AutoTrash", "Polisher", "ScrewFeeder", "ToyPet"})

SECTION = "00"  # DCASE 2025 has one section per machine type


def dataset_of(machine: str) -> str:
    """Where the synthetic generator and download put a DCASE 2025 type: 'dev' for development
    types, 'eval' for additional/evaluation types. (For a data root, use
    asd.dataset.machine_part: it looks at the folders.)"""
    if machine in DEV_MACHINES:
        return "dev"
    if machine in EVAL_MACHINES:
        return "eval"
    raise ValueError(f"unknown machine type {machine!r}; known: {', '.join(ALL_MACHINES)}")
