"""Directory sign-in settings (Active Directory or OpenLDAP), read from the environment.

Loaded by settings.py only when LDAP_SERVER_URI is set; it turns the LDAP_* variables into
django-auth-ldap's AUTH_LDAP_* settings. The backend itself (and the group -> role mapping
applied on every sign-in) is contorl/accounts/ldap.py. Nothing here may import models:
it runs while settings load.

Variables (all but the URI optional):
  LDAP_SERVER_URI          ldap://dc1.corp.example:389 or ldaps://... (space-separated for fail-over)
  LDAP_BIND_DN / LDAP_BIND_PASSWORD   service account used to search for users and groups
  LDAP_START_TLS           1 to upgrade ldap:// with StartTLS
  LDAP_TLS_CA_FILE         CA bundle for ldaps:// or StartTLS; LDAP_TLS_REQUIRE_CERT=0 to skip checks (tests)
  LDAP_USER_SEARCH_BASE    ou=People,dc=corp,dc=example
  LDAP_USER_FILTER         (uid=%(user)s); Active Directory: (sAMAccountName=%(user)s)
  LDAP_GROUP_SEARCH_BASE   ou=Groups,dc=corp,dc=example (default: LDAP_USER_SEARCH_BASE)
  LDAP_GROUP_TYPE          groupOfNames (default), groupOfUniqueNames, posixGroup,
                           activeDirectory, nestedActiveDirectory, nestedGroupOfNames
  LDAP_GROUP_FILTER        default chosen by LDAP_GROUP_TYPE
  LDAP_ATTR_FIRST_NAME / LDAP_ATTR_LAST_NAME / LDAP_ATTR_EMAIL   givenName / sn / mail
  LDAP_ATTR_DEPARTMENT     attribute holding a department code or name (e.g. departmentNumber,
                           AD: department); used when no mapped group names a department
  LDAP_GROUP_MAP           JSON, group (full DN or CN, case-insensitive) -> what membership gives:
                           {"CONTORL-Admins": {"system_admin": true},
                            "cn=prod-managers,ou=Groups,dc=corp,dc=example":
                                {"department": "PROD", "role": "manager", "department_manager": true},
                            "PROD-Operators": {"department": "PROD", "role": "operator"}}
  LDAP_DEFAULT_ROLE        role when no mapped group gives one (default engineer)
  LDAP_TIMEOUT             seconds to wait for the directory (default 5)
"""

import json

from django.core.exceptions import ImproperlyConfigured

ROLES = ("operator", "engineer", "supervisor", "manager")
GROUP_TYPES = {
    "groupofnames": ("GroupOfNamesType", "(objectClass=groupOfNames)"),
    "nestedgroupofnames": ("NestedGroupOfNamesType", "(objectClass=groupOfNames)"),
    "groupofuniquenames": ("GroupOfUniqueNamesType", "(objectClass=groupOfUniqueNames)"),
    "posixgroup": ("PosixGroupType", "(objectClass=posixGroup)"),
    "activedirectory": ("ActiveDirectoryGroupType", "(objectClass=group)"),
    "nestedactivedirectory": ("NestedActiveDirectoryGroupType", "(objectClass=group)"),
}


def parse_group_map(raw: str) -> dict[str, dict]:
    """Validate LDAP_GROUP_MAP early, so a typo fails at start-up rather than at sign-in."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"LDAP_GROUP_MAP is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ImproperlyConfigured("LDAP_GROUP_MAP must be a JSON object: group -> {role, department, ...}")
    mapping = {}
    for group, grant in data.items():
        if not isinstance(grant, dict) or set(grant) - {"role", "department", "department_manager", "system_admin"}:
            raise ImproperlyConfigured(
                f"LDAP_GROUP_MAP[{group!r}] may only set role, department, department_manager, system_admin"
            )
        if "role" in grant and grant["role"] not in ROLES:
            raise ImproperlyConfigured(f"LDAP_GROUP_MAP[{group!r}].role must be one of {ROLES}")
        mapping[str(group).strip().lower()] = grant
    return mapping


def settings_from_env(env) -> dict:
    import ldap
    from django_auth_ldap import config

    uri = env.str("LDAP_SERVER_URI")
    user_base = env.str("LDAP_USER_SEARCH_BASE", default="")
    if not user_base:
        raise ImproperlyConfigured("LDAP_SERVER_URI is set but LDAP_USER_SEARCH_BASE is not.")
    group_type_key = env.str("LDAP_GROUP_TYPE", default="groupOfNames").replace("_", "").lower()
    if group_type_key not in GROUP_TYPES:
        raise ImproperlyConfigured(f"LDAP_GROUP_TYPE must be one of {sorted(GROUP_TYPES)}")
    group_class, group_filter = GROUP_TYPES[group_type_key]
    default_role = env.str("LDAP_DEFAULT_ROLE", default="engineer")
    if default_role not in ROLES:
        raise ImproperlyConfigured(f"LDAP_DEFAULT_ROLE must be one of {ROLES}")
    timeout = env.float("LDAP_TIMEOUT", default=5.0)

    # TLS options per connection, then OPT_X_TLS_NEWCTX last: libldap builds a TLS context
    # from them for this connection instead of reusing a process-wide one made earlier.
    tls_options = {}
    if env.str("LDAP_TLS_CA_FILE", default=""):
        tls_options[ldap.OPT_X_TLS_CACERTFILE] = env.str("LDAP_TLS_CA_FILE")
    tls_options[ldap.OPT_X_TLS_REQUIRE_CERT] = (
        ldap.OPT_X_TLS_DEMAND if env.bool("LDAP_TLS_REQUIRE_CERT", default=True) else ldap.OPT_X_TLS_NEVER
    )
    tls_options[ldap.OPT_X_TLS_NEWCTX] = 0

    return {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": env.str("LDAP_BIND_DN", default=""),
        "AUTH_LDAP_BIND_PASSWORD": env.str("LDAP_BIND_PASSWORD", default=""),
        "AUTH_LDAP_START_TLS": env.bool("LDAP_START_TLS", default=False),
        # Referrals off: Active Directory answers with referrals python-ldap would chase blindly.
        "AUTH_LDAP_CONNECTION_OPTIONS": {
            ldap.OPT_NETWORK_TIMEOUT: timeout,
            ldap.OPT_TIMEOUT: timeout,
            ldap.OPT_REFERRALS: 0,
            **tls_options,
        },
        "AUTH_LDAP_USER_SEARCH": config.LDAPSearch(
            user_base, ldap.SCOPE_SUBTREE, env.str("LDAP_USER_FILTER", default="(uid=%(user)s)")
        ),
        "AUTH_LDAP_GROUP_SEARCH": config.LDAPSearch(
            env.str("LDAP_GROUP_SEARCH_BASE", default=user_base),
            ldap.SCOPE_SUBTREE,
            env.str("LDAP_GROUP_FILTER", default=group_filter),
        ),
        "AUTH_LDAP_GROUP_TYPE": getattr(config, group_class)(),
        "AUTH_LDAP_USER_ATTR_MAP": {
            "first_name": env.str("LDAP_ATTR_FIRST_NAME", default="givenName"),
            "last_name": env.str("LDAP_ATTR_LAST_NAME", default="sn"),
            "email": env.str("LDAP_ATTR_EMAIL", default="mail"),
        },
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_FIND_GROUP_PERMS": False,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,  # membership changes must count at the next sign-in
        "LDAP_ATTR_DEPARTMENT": env.str("LDAP_ATTR_DEPARTMENT", default=""),
        "LDAP_GROUP_MAP": parse_group_map(env.str("LDAP_GROUP_MAP", default="")),
        "LDAP_DEFAULT_ROLE": default_role,
    }
