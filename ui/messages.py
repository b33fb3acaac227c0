"""Translated, human text for every reason code the adapter returns (never a raw exception)."""

from __future__ import annotations

import random
import re

from PySide6.QtCore import QCoreApplication


def tr(text: str) -> str:
    """Translate in the shared "Messages" context."""
    return QCoreApplication.translate("Messages", text)


def reason_text(code: str | None) -> str:
    """What to tell the person about a refused or failed attempt."""
    t = {
        "too_short": QCoreApplication.translate("Messages", "Too short: please keep speaking a little longer."),
        "no_speech": QCoreApplication.translate("Messages", "No speech heard: please speak clearly towards the device."),
        "empty_audio": QCoreApplication.translate("Messages", "Nothing was recorded: please try again."),
        "too_quiet": QCoreApplication.translate("Messages", "Too quiet: please speak louder or come closer."),
        "too_noisy": QCoreApplication.translate("Messages", "Too noisy: please try again somewhere quieter."),
        "clipped": QCoreApplication.translate("Messages", "Too loud: please speak a little further away."),
        "multiple_speakers": QCoreApplication.translate("Messages", "More than one voice: only one person should speak."),
        "not_recognised": QCoreApplication.translate("Messages", "Your voice was not recognised."),
        "unknown_speaker": QCoreApplication.translate("Messages", "This id is not enrolled."),
        "locked": QCoreApplication.translate("Messages", "Too many failed attempts: this id is locked for a while."),
        "replay": QCoreApplication.translate("Messages", "This sounds like a recording of an earlier attempt: refused."),
        "already_enrolled": QCoreApplication.translate(
            "Messages", "This id is already enrolled (here or on another kiosk): choose another id, or delete the "
            "old voiceprint in Admin first."),
        "speaker_disabled": QCoreApplication.translate(
            "Messages", "This id is disabled: please ask an administrator."),
        "error": QCoreApplication.translate("Messages", "Something went wrong. Please try again."),
    }
    return t.get(code or "error", t["error"])


def too_short_text(heard_s: float, needed_s: float) -> str:
    """"Too short" with the numbers: the speech heard and the speech needed."""
    return (QCoreApplication.translate("Messages", "Too short: %1 s of speech heard, %2 s needed. Please keep "
                                       "speaking a little longer.")
            .replace("%1", f"{heard_s:.1f}").replace("%2", f"{needed_s:.1f}"))


def recording_reason_text(code: str | None, speech_s: float = 0.0, needed_s: float = 0.0) -> str:
    """Why a speaker cannot be enrolled from a recording (a meeting): about the recording, with the numbers."""
    t = {
        "too_short": QCoreApplication.translate(
            "Messages", "This speaker has too little speech in the recording: %1 s found, about %2 s needed. "
            "Choose a speaker who talks longer, or enrol them on the Enrol screen."),
        "no_speech": QCoreApplication.translate(
            "Messages", "No speech of this speaker was found in the recording (about %2 s needed)."),
        "too_quiet": QCoreApplication.translate("Messages", "This speaker is too quiet in the recording."),
        "too_noisy": QCoreApplication.translate("Messages", "The recording is too noisy around this speaker."),
        "clipped": QCoreApplication.translate("Messages", "This speaker is distorted (too loud) in the recording."),
        "multiple_speakers": QCoreApplication.translate(
            "Messages", "Other voices overlap this speaker in the recording."),
        "consent_needed": QCoreApplication.translate("Messages", "Consent is needed before enrolling."),
    }
    text = t.get(code or "error")
    if text is None:
        return reason_text(code)
    return text.replace("%1", f"{speech_s:.1f}").replace("%2", f"{needed_s:.0f}")


def stop_reason_text(reason: str) -> str:
    """Why a recording ended."""
    t = {
        "end_of_speech": QCoreApplication.translate("Messages", "Got it."),
        "no_speech": QCoreApplication.translate("Messages", "No speech heard."),
        "max_length": QCoreApplication.translate("Messages", "Maximum length reached."),
        "source_ended": QCoreApplication.translate("Messages", "Recording ended."),
        "stopped": QCoreApplication.translate("Messages", "Stopped."),
    }
    return t.get(reason, reason)


def random_prompt(rng: random.Random | None = None) -> str:
    """A phrase to read aloud: six digits or a short sentence, different each time."""
    rng = rng or random.Random()
    if rng.random() < 0.5:
        return "  ".join(str(rng.randrange(10)) for _ in range(6))
    sentences = [
        QCoreApplication.translate("Prompts", "The quick brown fox jumps over the lazy dog."),
        QCoreApplication.translate("Prompts", "My voice is my passport, please let me in."),
        QCoreApplication.translate("Prompts", "Spring rain falls softly on the quiet garden."),
        QCoreApplication.translate("Prompts", "Today I will meet my colleagues on the third floor."),
        QCoreApplication.translate("Prompts", "Seven bright stars shine above the northern hills."),
        QCoreApplication.translate("Prompts", "Please open the door to the meeting room."),
    ]
    return rng.choice(sentences)


def speaker_label(label: str) -> str:
    """A meeting label for display: the engine's "Speaker 3" in the user's language; ids as they are."""
    match = re.fullmatch(r"Speaker (\d+)", label)
    if match is None:
        return label
    return QCoreApplication.translate("Messages", "Speaker %1").replace("%1", match.group(1))
