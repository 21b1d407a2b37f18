"""Sun position and a clear-sky irradiance shape, vectorised over timestamps.

Why here: a PV forecast must be zero at night and, without a provider forecast, needs a physically
shaped curve to scale. The equations are the standard low-precision solar position (declination and
equation of time from the fractional year, accurate to a fraction of a degree) and the Haurwitz
clear-sky model for global horizontal irradiance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Location:
    """Where the panels are: decimal degrees, north and east positive."""

    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.latitude <= 90.0:
            raise ValueError(f"latitude {self.latitude} is outside -90..90 degrees")
        if not -180.0 <= self.longitude <= 180.0:
            raise ValueError(f"longitude {self.longitude} is outside -180..180 degrees")


def _angles(times: pd.DatetimeIndex, location: Location) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (zenith cosine, hour angle rad, declination rad) at ``times`` (tz-aware)."""
    utc = times.tz_convert("UTC")
    day_of_year = utc.day_of_year.to_numpy(dtype=float)
    hours = (utc.hour + utc.minute / 60.0 + utc.second / 3600.0).to_numpy(dtype=float)
    gamma = 2.0 * np.pi / 365.0 * (day_of_year - 1.0 + (hours - 12.0) / 24.0)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    true_solar_minutes = hours * 60.0 + eqtime + 4.0 * location.longitude
    hour_angle = np.deg2rad(true_solar_minutes / 4.0 - 180.0)
    lat = np.deg2rad(location.latitude)
    cos_zenith = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return np.clip(cos_zenith, -1.0, 1.0), hour_angle, decl


def solar_elevation_deg(times: pd.DatetimeIndex, location: Location) -> np.ndarray:
    """Sun elevation above the horizon in degrees (negative at night)."""
    cos_zenith, _, _ = _angles(times, location)
    return np.asarray(90.0 - np.rad2deg(np.arccos(cos_zenith)), dtype=float)


def solar_azimuth_features(times: pd.DatetimeIndex, location: Location) -> tuple[np.ndarray, np.ndarray]:
    """Sine and cosine of the hour angle: where the sun is east-west, for orientation effects."""
    _, hour_angle, _ = _angles(times, location)
    return np.sin(hour_angle), np.cos(hour_angle)


def clear_sky_ghi(times: pd.DatetimeIndex, location: Location) -> np.ndarray:
    """Haurwitz clear-sky global horizontal irradiance in W/m² (0 when the sun is down)."""
    cos_zenith, _, _ = _angles(times, location)
    safe = np.where(cos_zenith > 0.01, cos_zenith, 1.0)
    ghi = 1098.0 * safe * np.exp(-0.057 / safe)
    return np.asarray(np.where(cos_zenith > 0.01, ghi, 0.0), dtype=float)


# Clear-sky split of horizontal irradiance (beam share) and ground reflectance, for tilted panels.
CLEAR_SKY_BEAM_SHARE = 0.8
GROUND_ALBEDO = 0.2


def plane_of_array_ratio(
    times: pd.DatetimeIndex, location: Location, tilt_deg: float, azimuth_deg: float
) -> np.ndarray:
    """Irradiance on panels tilted ``tilt_deg`` and facing ``azimuth_deg`` (clockwise from north)
    divided by the horizontal irradiance, under a clear sky.

    Why: a south-facing 35° roof in winter gets far more than the horizontal curve says, an east roof
    produces in the morning. Beam, isotropic sky diffuse and ground-reflected parts are transposed
    separately (the classic Liu-Jordan model); the beam factor is capped at 5 where the sun grazes the
    horizon, so dawn never divides by a near-zero sun height.
    """
    cos_zenith, hour_angle, decl = _angles(times, location)
    lat = np.deg2rad(location.latitude)
    sun_east = -np.cos(decl) * np.sin(hour_angle)
    sun_north = np.sin(decl) * np.cos(lat) - np.cos(decl) * np.cos(hour_angle) * np.sin(lat)
    tilt, azimuth = np.deg2rad(tilt_deg), np.deg2rad(azimuth_deg)
    cos_incidence = (
        sun_east * np.sin(tilt) * np.sin(azimuth)
        + sun_north * np.sin(tilt) * np.cos(azimuth)
        + cos_zenith * np.cos(tilt)
    )
    safe = np.where(cos_zenith > 0.01, cos_zenith, 1.0)
    beam = np.where(cos_zenith > 0.01, np.maximum(cos_incidence, 0.0) / safe, 0.0)
    diffuse = (1.0 + np.cos(tilt)) / 2.0
    ground = GROUND_ALBEDO * (1.0 - np.cos(tilt)) / 2.0
    ratio = CLEAR_SKY_BEAM_SHARE * np.minimum(beam, 5.0) + (1.0 - CLEAR_SKY_BEAM_SHARE) * diffuse + ground
    return np.asarray(ratio, dtype=float)


def is_night(times: pd.DatetimeIndex, step: pd.Timedelta, location: Location) -> np.ndarray:
    """True where the sun stays below the horizon from one step before to two steps after ``t``.

    Wide on purpose: exports label a step by its start or by its end, and PV must never be zeroed
    while the sun is up.
    """
    highest = np.full(len(times), -90.0)
    for fraction in (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0):
        highest = np.maximum(highest, solar_elevation_deg(times + step * fraction, location))
    return np.asarray(highest < -0.5, dtype=bool)


def mean_over_steps(
    times: pd.DatetimeIndex,
    step: pd.Timedelta,
    location: Location,
    values: str,
    plane: tuple[float, float] | None = None,
) -> np.ndarray:
    """Average of a solar quantity over each step [t, t + step), sampled at 5 points.

    A 30-minute step at dawn is half dark; sampling only the step start would call it night. With
    ``plane`` (tilt, azimuth in degrees) the clear-sky irradiance is the one on that plane.
    """
    samples = []
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.9):
        shifted = times + step * fraction
        if values == "ghi":
            ghi = clear_sky_ghi(shifted, location)
            if plane is not None:
                ghi = ghi * plane_of_array_ratio(shifted, location, *plane)
            samples.append(ghi)
        else:
            samples.append(solar_elevation_deg(shifted, location))
    return np.asarray(np.mean(samples, axis=0), dtype=float)
