"""The smallest stand-ins for the Open edX imports of proctoru-xblock's api module (no Django app registry)."""

from __future__ import annotations

import types
from typing import Any


class DoesNotExist(Exception):
    """What Django's ``Model.DoesNotExist`` is to the client."""


class _Query:
    def __init__(self, manager: Manager, items: list[Any]) -> None:
        self.manager, self.items = manager, items

    def exists(self) -> bool:
        return bool(self.items)

    def delete(self) -> None:
        for item in self.items:
            self.manager.rows.remove(item)

    def __iter__(self) -> Any:
        return iter(self.items)


class Manager:
    """``objects``: get / filter on attribute equality, over rows kept in memory."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def filter(self, **lookup: Any) -> _Query:
        return _Query(self, [r for r in self.rows if all(getattr(r, k) == v for k, v in lookup.items())])

    def get(self, **lookup: Any) -> Any:
        found = self.filter(**{("id" if k == "pk" else k): v for k, v in lookup.items()}).items
        if len(found) != 1:
            raise DoesNotExist(str(lookup))
        return found[0]


class _Model:
    objects: Manager
    DoesNotExist = DoesNotExist

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def save(self) -> None:
        if self not in self.objects.rows:
            self.objects.rows.append(self)


class User(_Model):
    """An edx-platform user: id, username, names, email, ``profile.name``."""

    objects = Manager()


class ProctoruUser(_Model):
    objects = Manager()


class ProctorUExam(_Model):
    """``user`` and ``user_id`` both look up the learner."""

    objects = Manager()

    @property
    def user_id(self) -> Any:
        return self.user.id


def modules() -> dict[str, types.ModuleType]:
    """The modules to put in ``sys.modules`` before importing ``proctoru.api``."""
    auth = types.ModuleType("django.contrib.auth.models")
    auth.User = User  # type: ignore[attr-defined]
    models = types.ModuleType("proctoru.models")
    models.ProctoruUser = ProctoruUser  # type: ignore[attr-defined]
    models.ProctorUExam = ProctorUExam  # type: ignore[attr-defined]
    return {"django.contrib.auth.models": auth, "proctoru.models": models}


def make_user(user_id: int, username: str, full_name: str, email: str) -> User:
    """A saved learner."""
    user = User(id=user_id, pk=user_id, username=username, first_name=full_name.split()[0],
                last_name=full_name.split()[-1], email=email, is_active=True, is_superuser=False, is_staff=False,
                profile=types.SimpleNamespace(name=full_name))
    user.save()
    return user
