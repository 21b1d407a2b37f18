"""Keeps the add-on's status, plan and meter readings in Home Assistant.

Live updates arrive on the add-on's WebSocket stream (``local_push``) and change only what they are
about: a status, a plan, one meter. A slow poll is the safety net and the way an unreachable add-on is
noticed; it reads the status and the meters, and the plan (tens of kilobytes) only when the status names
another plan than the one held. While the add-on cannot be reached every entity is unavailable;
the coordinator logs that once, and once again when it is back. A new plan fires ``shems_plan_updated``
and arms one timer per appliance start (``shems_appliance_start_due``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.const import STATE_ON, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import restore_state
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import ShemsAuthError, ShemsClient, ShemsConnectionError, ShemsError, ShemsResponseError
from .appliance_start import async_start_appliance
from .const import (
    DOMAIN,
    EVENT_APPLIANCE_START_DUE,
    EVENT_PLAN_UPDATED,
    HOME_EMPTY,
    POLL_INTERVAL,
    STREAM_RETRY_MAX_S,
)
from .models import (
    DeviceList,
    Meter,
    PayloadError,
    Plan,
    Readiness,
    Status,
    parse_meters,
    parse_plan,
    parse_status,
)
from .site import build_site

if TYPE_CHECKING:
    from . import ShemsConfigEntry

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ShemsData:
    """One consistent snapshot of what the add-on reports."""

    status: Status
    plan: Plan | None
    meters: dict[str, Meter] = field(default_factory=dict)
    # The add-on's mirrors of HA's own sensors: their updates are nothing to show or fetch.
    mirror_ids: frozenset[str] = frozenset()
    readiness: Readiness | None = None  # None: an add-on too old to report it


class ShemsCoordinator(DataUpdateCoordinator[ShemsData]):
    """Status, plan and meters of one add-on instance."""

    config_entry: ShemsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: ShemsConfigEntry, client: ShemsClient) -> None:
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=f"{DOMAIN} {entry.title}", update_interval=POLL_INTERVAL
        )
        self.client = client
        self._start_timers: list[CALLBACK_TYPE] = []
        self._started_until: dict[str, datetime] = {}
        self._boundary_timer: CALLBACK_TYPE | None = None
        self._plan_listeners: list[Callable[[Plan], None]] = []
        self.stream_connected = False
        # Site pushes run one at a time; each sends the entry as it is when it starts. A change counts
        # as sent once a push that started after it has succeeded (see async_push_site).
        self._site_changes = 0
        self._site_sent = 0
        self._push_lock = asyncio.Lock()
        self._fetching: set[str] = set()  # "plan", "meters": fetches under way outside the poll
        # Ids of plans already replaced by a newer one: a stream message carrying one of them is a late
        # echo (e.g. of the plan the optimize service already returned) and must not undo the newer plan.
        self._superseded_plan_ids: deque[str] = deque(maxlen=32)
        # The hub's "Home empty" switch: part of the site sent, so the planner uses eco comfort bands.
        self.home_empty = False

    # -- set-up, site push, polling -------------------------------------------------------------

    async def _async_setup(self) -> None:
        """Push the site configuration before the first read, so the first plan is for this home."""
        self.home_empty = self._restored_home_empty()
        await self.async_push_site()

    def _restored_home_empty(self) -> bool:
        """The "Home empty" switch as it was before the restart (or reload), read before the first push
        so that the add-on never plans an empty home as occupied in between; its entity restores the
        same state when the platform is set up, later."""
        uid = self.config_entry.unique_id or self.config_entry.entry_id
        entity_id = er.async_get(self.hass).async_get_entity_id(
            Platform.SWITCH, DOMAIN, f"{uid}_hub_{HOME_EMPTY}"
        )
        stored = restore_state.async_get(self.hass).last_states.get(entity_id) if entity_id else None
        return stored is not None and stored.state.state == STATE_ON

    async def async_set_home_empty(self, empty: bool) -> None:
        """Tell the add-on whether the home is empty; the new site makes it re-plan."""
        self.home_empty = empty
        await self.async_push_site_or_raise()

    @property
    def site_unsent(self) -> bool:
        return self._site_sent < self._site_changes

    async def async_push_site(self) -> None:
        """Send the site as the entry is now; a failed push goes out again with the next successful poll.

        Changes may come faster than pushes (assets added back to back, or during set-up): every call
        ends with the add-on holding the entry as it was at the call or later, never an older one.
        """
        self._site_changes += 1
        change = self._site_changes
        async with self._push_lock:
            if self._site_sent >= change:
                return  # a push that started after this change has already sent it
            covered = self._site_changes
            await self._put_site()
            self._site_sent = max(self._site_sent, covered)

    async def _put_site(self) -> None:
        try:
            await self.client.put_site(build_site(self.hass, self.config_entry, home_empty=self.home_empty))
        except ShemsAuthError as err:
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth") from err
        except ShemsResponseError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="site_rejected",
                translation_placeholders={"error": str(err), "field": err.field or "-"},
            ) from err
        except ShemsError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err

    async def _async_update_data(self) -> ShemsData:
        if self.site_unsent:
            await self.async_push_site()
        try:
            status, devices, readiness = await asyncio.gather(
                self.client.status(), self._devices(), self.client.readiness()
            )
            plan = await self.client.plan() if self._plan_outdated(status) else self._held_plan()
        except ShemsAuthError as err:
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth") from err
        except ShemsConnectionError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        except ShemsResponseError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="invalid_response",
                translation_placeholders={"error": str(err)},
            ) from err
        self._note_plan(plan)
        return ShemsData(
            status=status,
            plan=plan,
            meters={meter.meter_id: meter for meter in devices.meters},
            mirror_ids=devices.mirror_ids,
            readiness=readiness,
        )

    async def _devices(self) -> DeviceList:
        """Meter readings; an add-on without a device store (HTTP 404/503) keeps the last known list."""
        try:
            return await self.client.devices()
        except ShemsResponseError as err:
            if err.status not in (404, 503):
                raise
            _LOGGER.debug("No meter readings from the add-on: %s", err)
            held: ShemsData | None = self.data  # None before the first refresh
            if held is None:
                return DeviceList(meters=(), mirror_ids=frozenset())
            return DeviceList(meters=tuple(held.meters.values()), mirror_ids=held.mirror_ids)

    def _held_plan(self) -> Plan | None:
        return self.data.plan if self.data is not None else None

    def _plan_outdated(self, status: Status) -> bool:
        """Whether the status names a plan (or a 7-day cost) other than the one held."""
        held = self._held_plan()
        if held is None or status.plan_id is None:
            return True
        if status.plan_id in self._superseded_plan_ids:
            return False  # a late status from before the plan the integration already has
        return status.plan_id != held.plan_id or status.cost_next_7d != held.cost_next_7d

    # -- plan bookkeeping -------------------------------------------------------------------------

    def _note_plan(self, plan: Plan | None) -> None:
        """Fire the plan event and re-arm appliance timers when the plan changed."""
        previous = self.data.plan if self.data is not None else None
        if plan is None or (previous is not None and previous.plan_id == plan.plan_id):
            return
        self.hass.bus.async_fire(
            EVENT_PLAN_UPDATED,
            {
                "config_entry_id": self.config_entry.entry_id,
                "plan_id": plan.plan_id,
                "status": plan.status,
                "created_at": plan.created_at.isoformat() if plan.created_at else None,
                "unmet_goals": len(plan.unmet_goals),
            },
        )
        self._arm_start_timers(plan)

    def _arm_start_timers(self, plan: Plan) -> None:
        self.cancel_start_timers()
        now = dt_util.utcnow()
        names = {sub_id: sub.title for sub_id, sub in self.config_entry.subentries.items()}
        for run in plan.appliances:
            if run.planned_start is None:
                continue
            due = self._start_due_callback(run.asset_id, run.planned_start, run.planned_end, names)
            if run.planned_start > now:
                # The plan has it start later, so no run of it is under way: that later start may fire.
                self._started_until.pop(run.asset_id, None)
                self._start_timers.append(async_track_point_in_utc_time(self.hass, due, run.planned_start))
            elif (
                run.planned_end is not None
                and now < run.planned_end
                and self._started_until.get(run.asset_id, now) <= now
            ):
                # A plan made during its run's first step plans it to start "now": re-planned every
                # step, such a run would never see a start time in the future, so it starts at once.
                due(now)

    def _start_due_callback(
        self, asset_id: str, start: datetime, end: datetime | None, names: dict[str, str]
    ) -> Callable[[datetime], None]:
        @callback
        def _due(_now: datetime) -> None:
            # Started once per planned run: later plans that still place it under way do not restart it.
            self._started_until[asset_id] = end or start
            # The appliance's device id lets an automation's event trigger match it, which also links
            # the automation to that device (listed on its device page).
            uid = self.config_entry.unique_id or self.config_entry.entry_id
            device = dr.async_get(self.hass).async_get_device(identifiers={(DOMAIN, f"{uid}_{asset_id}")})
            self.hass.bus.async_fire(
                EVENT_APPLIANCE_START_DUE,
                {
                    "config_entry_id": self.config_entry.entry_id,
                    "appliance_id": asset_id,
                    "appliance": names.get(asset_id, asset_id),
                    "device_id": device.id if device is not None else None,
                    "planned_start": start.isoformat(),
                },
            )
            subentry = self.config_entry.subentries.get(asset_id)
            self.config_entry.async_create_task(
                self.hass, async_start_appliance(self.hass, subentry), f"{DOMAIN} start {asset_id}"
            )

        return _due

    @callback
    def cancel_start_timers(self) -> None:
        for unsub in self._start_timers:
            unsub()
        self._start_timers.clear()

    @callback
    def cancel_timers(self) -> None:
        """Every timer this coordinator armed (on unload)."""
        self.cancel_start_timers()
        if self._boundary_timer is not None:
            self._boundary_timer()
            self._boundary_timer = None

    @callback
    def async_update_listeners(self) -> None:
        """Update entities, then wake them again when the plan's current step ends."""
        super().async_update_listeners()
        if self._boundary_timer is not None:
            self._boundary_timer()
            self._boundary_timer = None
        plan = self.data.plan if self.data is not None and self.last_update_success else None
        if plan is None:
            return
        now = dt_util.utcnow()
        boundary = next((step.end for step in plan.steps if step.end > now), None)
        if boundary is not None:
            self._boundary_timer = async_track_point_in_utc_time(self.hass, self._on_step_boundary, boundary)

    @callback
    def _on_step_boundary(self, _now: datetime) -> None:
        # "Now" moved to the next step of the same plan: the "planned … now" entities change.
        self._boundary_timer = None
        self.async_update_listeners()

    @callback
    def async_set_plan(self, plan: Plan | None) -> None:
        """A plan arrived outside the poll (stream message or the optimize service)."""
        previous = self.data.plan if self.data is not None else None
        if previous is not None and plan is not None and previous.plan_id != plan.plan_id:
            self._superseded_plan_ids.append(previous.plan_id)
        self._note_plan(plan)
        self.async_set_updated_data(dataclasses.replace(self.data, plan=plan))

    # -- live stream ------------------------------------------------------------------------------

    async def async_handle_stream_message(self, message: dict[str, Any]) -> None:
        """Apply one message of the add-on's WebSocket stream."""
        kind = message.get("type")
        body = message.get("data")
        if not isinstance(body, dict):
            return
        try:
            if kind == "plan_updated":
                plan = parse_plan(body)
                if plan is not None and plan.plan_id in self._superseded_plan_ids:
                    _LOGGER.debug("Ignoring a late stream copy of superseded plan %s", plan.plan_id)
                    return
                self.async_set_plan(plan)
            elif kind == "status":
                status = parse_status(body)
                self.async_set_updated_data(dataclasses.replace(self.data, status=status))
                if status.plan_id is not None and self._plan_outdated(status):
                    # The plan_updated message was missed (e.g. the stream reconnected): fetch it.
                    self._fetch_in_background("plan", self._async_fetch_plan)
            elif kind == "device_update":
                self._apply_device_update(body)
        except PayloadError as err:
            _LOGGER.debug("Ignoring a malformed %s message from the add-on: %s", kind, err)

    def _apply_device_update(self, message: dict[str, Any]) -> None:
        """Update a known meter in place; fetch the device list for a new one; ignore HA's own sensors."""
        meter_id = str(message.get("device_id"))
        status = message.get("status")
        if message.get("source") == "site" or meter_id in self.data.mirror_ids:
            return
        known = self.data.meters.get(meter_id)
        if known is None:
            self._fetch_in_background("meters", self._async_fetch_devices)
            return
        if not isinstance(status, dict):
            return
        updated = parse_meters([{"id": known.meter_id, "name": known.name, "status": status}])[0]
        meters = {**self.data.meters, known.meter_id: updated}
        self.async_set_updated_data(dataclasses.replace(self.data, meters=meters))

    def _fetch_in_background(self, what: str, fetch: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """One fetch of ``what`` at a time; messages arriving meanwhile wait for its answer."""
        if what in self._fetching:
            return
        self._fetching.add(what)

        async def run() -> None:
            try:
                await fetch()
            except ShemsError as err:
                _LOGGER.debug("Fetching %s from the add-on failed (the poll retries): %s", what, err)
            finally:
                self._fetching.discard(what)

        self.config_entry.async_create_background_task(self.hass, run(), f"{DOMAIN} fetch {what}")

    async def _async_fetch_devices(self) -> None:
        devices = await self._devices()
        meters = {meter.meter_id: meter for meter in devices.meters}
        self.async_set_updated_data(
            dataclasses.replace(self.data, meters=meters, mirror_ids=devices.mirror_ids)
        )

    async def _async_fetch_plan(self) -> None:
        plan = await self.client.plan()
        if plan is None or plan.plan_id in self._superseded_plan_ids:
            return
        held = self._held_plan()
        if held is None or held.plan_id != plan.plan_id or held.cost_next_7d != plan.cost_next_7d:
            self.async_set_plan(plan)

    async def async_run_stream(self) -> None:
        """Follow the stream for as long as the entry is loaded, reconnecting with back-off."""
        delay = 1.0
        while True:
            try:
                async for message in self.client.stream():
                    if message.get("type") == "connected":
                        self.stream_connected = True
                        delay = 1.0
                        await self.async_request_refresh()
                        continue
                    await self.async_handle_stream_message(message)
            except ShemsAuthError:
                self.config_entry.async_start_reauth(self.hass)
                return
            except ShemsError as err:
                _LOGGER.debug("Add-on stream interrupted: %s", err)
            except Exception:
                # Live updates must outlive a surprise; the poll still runs meanwhile.
                _LOGGER.exception("Unexpected error on the add-on stream; reconnecting")
            if self.stream_connected:
                self.stream_connected = False
                # The stream ended: find out now whether the add-on itself is gone.
                await self.async_request_refresh()
            await asyncio.sleep(delay)
            delay = min(delay * 2, STREAM_RETRY_MAX_S)

    async def async_push_site_or_raise(self) -> None:
        """Push the site for an entity or service action: failures become translated errors."""
        try:
            await self.async_push_site()
        except (UpdateFailed, ConfigEntryAuthFailed) as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="push_failed",
                translation_placeholders={"error": str(err)},
            ) from err

    async def async_schedule_appliance(self, appliance_id: str, finish_by: datetime) -> dict[str, Any]:
        """Ask for a run finishing by ``finish_by``; re-plan at once if the answer has no start yet."""
        result = await self.client.raw(
            "POST", "/schedules", payload={"appliance_id": appliance_id, "finish_by": finish_by.isoformat()}
        )
        if not isinstance(result, dict):
            raise ShemsResponseError("the schedule answer is not an object")
        if result.get("planned_start") is None:
            plan = await self.client.optimize()
            self.async_set_plan(plan)
            run = plan.appliance(appliance_id)
            if run is not None and run.planned_start is not None:
                result["planned_start"] = run.planned_start.isoformat()
                result["planned_end"] = run.planned_end.isoformat() if run.planned_end else None
        return result
