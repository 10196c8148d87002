"""Fixtures and helpers the whole suite shares."""
