"""What the two benchmark commands share: where their labelled data sets are by default, and
how their results are printed."""

from __future__ import annotations

import os
from pathlib import Path

# The folder of the labelled sets measured by default: $PLACE_DATASETS (which the test suite
# reads too). There is no default folder: without it, --datasets is required.
DATASETS = Path(os.environ["PLACE_DATASETS"]) if os.environ.get("PLACE_DATASETS") else None
DEFAULT_SETS = ("nordland_train", "corridor", "gardens_point_10")


def print_scale_row(size: int, r: dict) -> None:
    row = [
        f"{size:>9,}  {r['mode']:<26}",
        f"build {r['build_s']:>7.1f} s",
        f"index {r['faiss_index_mb']:>8.1f} MB",
        f"rss +{r['rss_growth_mb']:>7.1f} MB",
        f"query {r['query_ms_median']:>8.3f} ms (p90 {r['query_ms_p90']:.3f})",
        f"top-1 agreement {r['top1_agreement']:.4f}",
        f"real R@1 {r['real_recall_at_1']:.4f}",
    ]
    print("  ".join(row), flush=True)


def print_margins(report: dict) -> None:
    for entry in report["sizes"]:
        print(
            f"margins top1-top2 at {entry['gallery']}: {entry['margins']}; real gallery only: "
            f"{report['margins_real_gallery']}"
        )


def benchmark_table(report: dict) -> str:
    s = report["sections"]
    lines = ["\n| measurement | value |", "|---|---|"]
    if "indexing" in s:
        indexing = s["indexing"]
        median = indexing["rounds"][indexing["median_round"]]
        lines += [
            f"| indexing from files / best benchmark_app | {median['indexing_images_per_s']:.2f} / "
            f"{median['benchmark_app_best_fps']:.2f} = "
            f"**{indexing['indexing_vs_benchmark_app']:.3f}** |",
            f"| decoding alone; bound with inference on the same cores | "
            f"{median['decode_only_images_per_s']:.0f} img/s; "
            f"{median['decode_plus_inference_bound']:.1f} img/s (indexing reaches "
            f"{median['indexing_vs_bound']:.3f}) |",
            f"| gallery build ({indexing['images']} images), reference / ours | "
            f"**{indexing['build_speedup_vs_reference']:.2f}x** |",
        ]
    for row in s.get("search", {}).get("sizes", []):
        lines.append(
            f"| search per query at {row['gallery']:,}, reference / ours | "
            f"{row['reference_ms']:.2f} / {row['ours_ms']:.3f} ms = **{row['speedup']:.0f}x** |"
        )
    if "startup" in s:
        st = s["startup"]
        lines.append(
            f"| start-up with {st['images']:,} images, reference (extrapolated) / ours | "
            f"{st['reference_s_extrapolated']:.1f} / {st['ours_first_frame_s']:.2f} s = "
            f"**{st['speedup']:.0f}x** |"
        )
    if "int8" in s:
        lines.append(
            f"| INT8 / {report['precision']} throughput | **{s['int8']['speedup']:.2f}x** |"
        )
        if "recall" in s["int8"]:
            change = s["int8"]["recall"]["recall_at_1_change_points"]
            lines.append(f"| INT8 Recall@1 change | **{change:+.2f} points** |")
    return "\n".join(lines)
