"""Settings of the speaker-labeling pipeline, one frozen object passed into every stage."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelingConfig:
    """Every tunable of the labeling pipeline (times in seconds).

    Chunking and clustering follow 3D-Speaker's diarization recipe for this very CAM++ model; only
    ``step_s`` was chosen by measurement (see engine/labeling/README.md).
    """

    # Segmentation windows (the model's own 10 s) start every step_s; rounded to whole frames.
    step_s: float = 2.5
    # Speech is embedded in chunks of chunk_s every chunk_hop_s; a stretch's last chunk ends with it
    # and is kept when at least min_chunk_s long (3D-Speaker: 1.5 s every 0.75 s).
    chunk_s: float = 1.5
    chunk_hop_s: float = 0.75
    min_chunk_s: float = 0.5
    batch_chunks: int = 16
    # Spectral clustering (3D-Speaker's): cosine affinity, each row pruned to its top pval share (at
    # least min_neighbours), unnormalised Laplacian, count from the largest eigengap; fewer than
    # min_points chunks are one speaker; clusters of fewer than min_cluster_size chunks join the nearest
    # larger one; clusters whose mean embeddings have cosine >= merge_cosine are merged.
    pval: float = 0.012
    min_neighbours: int = 6
    min_points: int = 10
    min_cluster_size: int = 4
    merge_cosine: float = 0.6
    # Above this many chunks, consecutive chunks are averaged before clustering (bounded time and memory).
    max_cluster_points: int = 1500
    # A person's pauses shorter than min_turn_s are bridged and their turns shorter than it go to whoever
    # speaks right beside them (a frame of the model is 17 ms; words are longer than 0.1 s).
    min_turn_s: float = 0.1
    # Speaker count.
    min_speakers: int = 1
    max_speakers: int = 8
    num_speakers: int | None = None
    # Naming: cosine of a cluster's mean embedding with an enrolled voiceprint. None: the embedding
    # model's verification threshold (the one identify uses).
    name_threshold: float | None = None

    def checked(self) -> LabelingConfig:
        """Return self after checking the speaker-count bounds; raises ValueError when inconsistent."""
        if self.min_speakers < 1 or self.max_speakers < self.min_speakers:
            raise ValueError(f"need 1 <= min_speakers <= max_speakers, got {self.min_speakers}..{self.max_speakers}")
        if self.num_speakers is not None and self.num_speakers < 1:
            raise ValueError(f"num_speakers must be >= 1, got {self.num_speakers}")
        if self.step_s <= 0 or self.chunk_s <= 0 or self.chunk_hop_s <= 0:
            raise ValueError("step_s, chunk_s and chunk_hop_s must be positive")
        return self
