"""Word of mouth: customers in a source stage talk to random contacts, who may listen.

While a customer is in a source stage (a *talking spell*), their conversations are a
Poisson process at ``contact_rate`` per day, each with a random contact. They are drawn a
day at a time, for all talkers at once (:meth:`WordOfMouth.talk_day`; a spell that starts
during a day draws the rest of that day at once). Only a conversation whose contact
*listens* (is in a target stage) can do anything, so only those become simpy events: when
drawn if the contact listens then, else when the contact starts listening before the
conversation. When it happens, the talker must still be in the same spell and the contact
still listening; it is then a ``word_of_mouth`` touch of the contact. (A Poisson process
restricted to the spells is Poisson at the same rate in them, so this is the same process
as a chain of waits.)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import simpy

from cjsim.model.compiled import CompiledModel
from cjsim.simulate.agents.clocks import EPS
from cjsim.simulate.agents.customers import Customers
from cjsim.simulate.agents.keyed_random import PICK_CONTACT, TALK, key_uniform, keyed_uniforms
from cjsim.simulate.agents.network import ContactNetwork
from cjsim.simulate.agents.simpy_adapter import payload


class WordOfMouth:
    """The talking spells, the conversations drawn, and the touches they make.

    Parameters
    ----------
    env : simpy.Environment
        The clock of the world.
    compiled : CompiledModel
        The model's arrays (word-of-mouth channel, rate, sources, targets, network).
    customers : Customers
        Their keys and stages.

    Attributes
    ----------
    on : bool
        The model has word of mouth (a channel and a positive contact rate).
    touch : callable
        ``touch(customer, channel)``: the world's single touch (set by the world).
    conversations, touches : int
        Conversations that happened (counted at the end) and touches they made.
    touched : numpy.ndarray
        Who got a word-of-mouth touch.
    """

    def __init__(
        self, env: simpy.Environment, compiled: CompiledModel, customers: Customers
    ) -> None:
        self.env, self.customers, self.channel = env, customers, compiled.wom_channel
        self.step = compiled.step_days
        self.horizon = compiled.steps * compiled.step_days
        n = customers.count
        self.on = compiled.wom_channel >= 0 and compiled.wom_rate > 0
        self.touch: Callable[[int, int], None] = lambda i, c: None
        self.talks_in = [self.on and bool(x) for x in compiled.wom_sources]  # per stage
        self.listens = compiled.wom_targets.tolist()  # in which stages a touch lands
        self.conversations = 0
        self.touches = 0
        self.touched = np.zeros(n, bool)
        # each customer's current spell (-1: silent), the time of their next conversation
        # not drawn yet, and the counter of their draws
        self.spell = np.full(n, -1, np.int64)
        self.next_talk = np.full(n, np.inf)
        self.talk_draws = np.zeros(n, np.int64)
        self.spell_end: list[float] = []  # per spell: when it ended (inf while it lasts)
        # the conversations drawn, (times, spells): counted at the end
        self.drawn: list[tuple[np.ndarray, np.ndarray]] = []
        # today's conversations whose contact did not listen when they were drawn, as
        # (times, talkers, spells, contacts), and who such a contact is
        self.unheard: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.has_unheard = np.zeros(n, bool)
        # the same for spells that started during the day, by contact: [(time, talker, spell)]
        self.unheard_new: dict[int, list[tuple[float, int, int]]] = {}
        if not self.on:
            return
        model = compiled.model
        degree = model.network.degree if model.network is not None else 8.0
        self.network = ContactNetwork(n, degree, customers.seed)
        self.rate = compiled.wom_rate / self.step
        self.listens_np = compiled.wom_targets.astype(bool)
        self.sources = compiled.wom_sources

    def _day_end(self, now: float) -> float:
        return min((int(now / self.step + EPS) + 1) * self.step, self.horizon)

    def stage_changed(self, i: int, was: int, to: int) -> None:
        """Customer ``i`` moved from stage ``was`` to ``to``: start or stop talking, and
        hear today's conversations still to come if they start listening."""
        if self.talks_in[to] != self.talks_in[was]:
            if self.talks_in[to]:
                self._start_spell(i)
            elif self.spell[i] >= 0:
                self.spell_end[self.spell[i]] = self.env.now  # the talking stops
                self.spell[i] = -1
                self.next_talk[i] = math.inf
                self.talk_draws[i] += 1  # the pending wait's draw is spent
        if (
            self.listens[to]
            and not self.listens[was]
            and (self.has_unheard[i] or i in self.unheard_new)
        ):
            self._listen(i)

    def start_all(self) -> None:
        """At time 0: who is in a source stage (with contacts) talks; draw today's talks."""
        c = self.customers
        talkers = np.flatnonzero(self.sources[c.stage] & (self.network.degree > 0) & c.present)
        self.spell[talkers] = np.arange(talkers.size)
        self.spell_end = [math.inf] * talkers.size
        u = keyed_uniforms(self.customers.keys[talkers], TALK, 0)
        self.next_talk[talkers] = -np.log(u) / self.rate
        self.talk_day()

    def arrive(self, ids: np.ndarray) -> None:
        """Customers ``ids`` enter the market now: those in a source stage start talking."""
        for i in ids[self.sources[self.customers.stage[ids]]].tolist():
            self._start_spell(i)

    def _start_spell(self, i: int) -> None:
        """Customer ``i`` starts talking now: draw their conversations of the rest of today."""
        net = self.network
        lo, hi = int(net.offset[i]), int(net.offset[i + 1])
        if hi == lo:
            return  # nobody to talk to
        self.spell[i] = spell = len(self.spell_end)
        self.spell_end.append(math.inf)
        now, k, key = self.env.now, int(self.talk_draws[i]), self.customers.key_list[i]
        t = now - math.log(key_uniform(key, TALK, k)) / self.rate
        end = self._day_end(now)
        times = []
        while t < end:
            j = int(net.contacts[lo + int(key_uniform(key, PICK_CONTACT, k) * (hi - lo))])
            self._heard(t, i, spell, j)
            times.append(t)
            k += 1
            t -= math.log(key_uniform(key, TALK, k)) / self.rate
        self.next_talk[i], self.talk_draws[i] = t, k
        if times:
            self.drawn.append((np.array(times), np.full(len(times), spell)))

    def talk_day(self) -> None:
        """At a day start: the day's conversations of every talker (all at once)."""
        now, net, stage = self.env.now, self.network, self.customers.stage
        for part in self.unheard:  # forget conversations past (all of the day before)
            self.has_unheard[part[3]] = False
        self.unheard = []
        if self.unheard_new:  # but those a spell that started at this instant drew
            kept = ((j, [e for e in v if e[0] >= now]) for j, v in self.unheard_new.items())
            self.unheard_new = {j: v for j, v in kept if v}
        end = self._day_end(now)
        who = np.flatnonzero(self.next_talk < end)
        while who.size:  # one conversation of each talker left today per round
            t, k = self.next_talk[who], self.talk_draws[who]
            keys = self.customers.keys[who]
            lo = net.offset[who]
            pick = keyed_uniforms(keys, PICK_CONTACT, k) * (net.offset[who + 1] - lo)
            contact = net.contacts[lo + pick.astype(np.int64)]
            spell = self.spell[who]
            self.drawn.append((t, spell))
            heard = self.listens_np[stage[contact]]
            timeout, talk = self.env.timeout, self._talk
            for tt, i, s, j in zip(
                t[heard].tolist(), who[heard].tolist(), spell[heard].tolist(),
                contact[heard].tolist(), strict=True,
            ):  # fmt: skip
                timeout(tt - now, (i, s, j)).callbacks.append(talk)
            if not heard.all():
                unheard = ~heard
                self._unheard(t[unheard], who[unheard], spell[unheard], contact[unheard])
            k = k + 1
            t = t - np.log(keyed_uniforms(keys, TALK, k)) / self.rate
            self.next_talk[who], self.talk_draws[who] = t, k
            who = who[t < end]

    def _heard(self, t: float, i: int, spell: int, j: int) -> None:
        """A conversation drawn for later today: an event if the contact listens now."""
        if self.listens[self.customers.stage[j]]:
            self.env.timeout(t - self.env.now, (i, spell, j)).callbacks.append(self._talk)
        else:
            self.unheard_new.setdefault(j, []).append((t, i, spell))

    def _unheard(self, t: np.ndarray, i: np.ndarray, spell: np.ndarray, j: np.ndarray) -> None:
        """Conversations drawn for later today whose contacts do not listen now."""
        if t.size:
            self.unheard.append((t, i, spell, j))
            self.has_unheard[j] = True

    def _listen(self, j: int) -> None:
        """A contact starts listening: today's conversations with them still to come happen."""
        now = self.env.now
        for t_, i, spell_ in self.unheard_new.pop(j, ()):
            if t_ > now:
                self.env.timeout(t_ - now, (i, spell_, j)).callbacks.append(self._talk)
        if not self.has_unheard[j]:
            return
        self.has_unheard[j] = False
        for t, talker, spell, contact in self.unheard:
            for k in np.flatnonzero(contact == j).tolist():
                contact[k] = -1  # happens (or not) from now on
                if t[k] > now:
                    event = self.env.timeout(float(t[k]) - now, (int(talker[k]), int(spell[k]), j))
                    event.callbacks.append(self._talk)

    def _talk(self, event: simpy.Timeout) -> None:
        """A conversation happens: a touch if the talker still talks and the contact listens."""
        i, spell, j = payload(event)
        c = self.customers
        if self.spell[i] == spell and self.listens[c.stage[j]] and c.present[j]:
            self.touches += 1
            self.touched[j] = True
            self.touch(j, self.channel)

    def count_conversations(self) -> None:
        """At the end: how many of the conversations drawn happened (within their spell)."""
        if self.drawn:
            t = np.concatenate([p[0] for p in self.drawn])
            spell = np.concatenate([p[1] for p in self.drawn])
            self.conversations = int((t < np.array(self.spell_end)[spell]).sum())
