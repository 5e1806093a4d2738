"""Offline motivational-interviewing behaviour coding (AnnoMI / MITI codes)."""

from feedback.engines.behaviour_coding.assessor import BehaviourCoder
from feedback.engines.behaviour_coding.miti import miti_summary

__all__ = ["BehaviourCoder", "miti_summary"]
