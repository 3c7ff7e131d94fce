"""Export of (refined) trajectories to LlamaFactory datasets."""
from .llamafactory import (DATASET_INFO, ExportStats, export_llamafactory, qwen_tools_system, to_alpaca,
                           to_sharegpt)

__all__ = ["DATASET_INFO", "ExportStats", "export_llamafactory", "qwen_tools_system", "to_alpaca", "to_sharegpt"]
