"""host/perf_cycles.py and host/perf_cycles_report.py: the figures make perf derives from traced
phases, against hand-computed values on made-up phases."""
from host.cycle_trace import Phase
from host.perf_cycles import app_estimate, frontend, inference, monitor_estimate, operator
from host.perf_cycles_report import ad01_comparison, estimate_table
from host.perf_monitor import markdown_lines

PHASES = {
    "": Phase(instructions=500, cycles=900),
    "frontend": Phase(instructions=1000, cycles=1500, entries=4),
    "frontend/inference": Phase(instructions=100, cycles=160, entries=2, taken_branches=10),
    "frontend/inference/FULLY_CONNECTED": Phase(instructions=2000, cycles=3000,
                                                taken_branches=30),
    "frontend/scoring": Phase(instructions=300, cycles=420),  # in neither (RESULT scoring_cycles)
}
MEASURED = {"inferences": 2, "frames": 4, "macs": 500, "instructions_per_inference": 1049,
            "frontend_instructions_per_frame": 251,
            "ops": {"FULLY_CONNECTED": {"macs": 500}}}


def test_phases_split_into_inference_operators_and_front_end():
    assert inference(PHASES).cycles == 3160 and inference(PHASES).instructions == 2100
    assert frontend(PHASES).cycles == 1500                # the scoring left out
    assert operator(PHASES, "FULLY_CONNECTED").cycles == 3000


def test_app_estimate():
    e = app_estimate(PHASES, MEASURED)
    assert e["estimated_cycles_per_inference"] == 1580            # 3160 / 2
    assert e["estimated_cycles_per_mac"] == 3.16                  # 1580 / 500
    assert e["estimated_frontend_cycles_per_frame"] == 375        # 1500 / 4
    assert e["cycles_per_instruction"] == {"inference": 1.505, "frontend": 1.5}
    assert e["taken_branches_per_inference"] == 20
    assert e["ops"]["FULLY_CONNECTED"] == {"estimated_cycles": 1500,
                                           "estimated_cycles_per_mac": 3.0}
    assert e["traced_instructions"]["counted_inference"] == 2098


def test_monitor_estimate_costs_front_end_and_rest_at_their_own_rate():
    cm4 = {"frontend_instructions_per_frame": 1000,
           "cycles_per_instruction": {"frontend": 1.5, "inference": 2.0}}
    # 31.25 frames/s x 1000 = 31,250 front-end instructions at 1.5, 68,750 more at 2.0
    e = monitor_estimate({"instructions_per_second_of_audio": 100_000}, cm4,
                         {"a": 1_000_000, "b": 2_000_000})
    assert e["estimated_cycles_per_second_of_audio"] == 184_375
    assert e["estimated_real_time_share"] == {"a": 0.1844, "b": 0.0922}


def test_the_monitor_table_states_the_goal():
    m = {"kind": "ae", "monitor": {
        "hop_frames": 31, "window_hops": 10, "instructions_per_second_of_audio": 10_000_000,
        "real_time_share": {"nucleo-f446re": 0.0556, "nucleo-l4r5zi": 0.0833},
        "estimated_cycles_per_second_of_audio": 14_000_000,
        "estimated_real_time_share": {"nucleo-f446re": 0.0778, "nucleo-l4r5zi": 0.1167}}}
    row = markdown_lines({"x": m})[-1]
    assert "14,000,000 | 7.8 % | 11.7 % | not met |" in row


def test_the_ad01_comparison_names_the_published_figures_and_the_refill_sensitivity():
    a = {"kernels": {"cm4": {"estimated_cycles_per_mac": 2.2, "macs": 1000,
                             "taken_branches_per_inference": 50},
                     "ref": {"estimated_cycles_per_mac": 10.5}}}
    text = " ".join(ad01_comparison(a, [("Plumerai", 4.05, 1.84), ("X-CUBE-AI", 4.79, 2.18)]))
    assert "Estimated, not measured" in text and "Plumerai 1.84, X-CUBE-AI 2.18" in text
    assert "would add 0.050 cycles per MAC" in text


def test_the_estimate_table_checks_the_trace():
    d = {"instructions_per_inference": 1000, "estimated_cycles_per_inference": 1500,
         "estimated_cycles_per_mac": 3.0, "frontend_instructions_per_frame": 200,
         "estimated_frontend_cycles_per_frame": 300,
         "traced_instructions": {"inference": 999, "counted_inference": 1000,
                                 "frontend": 404, "counted_frontend": 400}}
    rows = estimate_table({"m": {"kernels": {"cm4": d}}}, {}, ("cm4",))
    assert rows[-1] == "| m | cm4 | 1,000 | 1,500 | 3.0 | 1.50 | 200 | 300 | -0.10 % / +1.00 % |"
