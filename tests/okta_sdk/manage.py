"""Drives Gatehouse's management API with Okta's own Python SDK (`okta` on PyPI).

    manage.py setup     create a user and an OIDC app, assign the user, list both with
                        pagination; prints {"user_id", "login", "client_id",
                        "client_secret"} as JSON on the last line of standard output
    manage.py teardown USER_ID CLIENT_ID
                        deactivate and delete the app and the user, and check they are gone
    manage.py servers CLIENT_ID
                        create an authorization server with a scope, a claim, a policy and
                        a rule, and a second client secret for the app: the SDK reads each
                        object from Okta's 201 (and returns None from any other status);
                        prints their ids and the new secret as JSON

    manage.py idp-create SECRET
                        create an OIDC identity provider with SECRET as its client
                        secret through the SDK's request executor (the pinned model has
                        no `protocol.issuer`, so the JSON goes as an Okta customer sends a
                        field the model lacks); prints {"idp_id"} as JSON
    manage.py idps IDP_ID USER_ID SECRET
                        with the SDK's typed calls: list the providers, get one,
                        deactivate and activate it, list its linked users (USER_ID), and
                        delete it; SECRET never in an answer; prints what it saw as JSON

GATEHOUSE_ORG_URL and GATEHOUSE_API_TOKEN say where and with what. The SDK refuses
plain http unless its testing setting `testing.testingDisableHttpsCheck` is on. In
this version a `testing` key in the client's dictionary lands under `client` where
the check does not look, so the setting is given the other way the SDK reads its
configuration: the environment variable OKTA_TESTING_TESTINGDISABLEHTTPSCHECK.
"""

import asyncio
import json
import os
import sys

from okta.client import Client as OktaClient
from okta.pagination import paginate_pages
from okta.models import (
    AppUserAssignRequest,
    AuthorizationServer,
    AuthorizationServerPolicy,
    AuthorizationServerPolicyRuleRequest,
    CreateUserRequest,
    OAuth2Claim,
    OAuth2Scope,
    OpenIdConnectApplication,
)

PASSWORD = "correct horse battery staple"
REDIRECT = "https://app.example.com/callback"


def client():
    if os.environ["GATEHOUSE_ORG_URL"].startswith("http://"):
        os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    return OktaClient({
        "orgUrl": os.environ["GATEHOUSE_ORG_URL"],
        "token": os.environ["GATEHOUSE_API_TOKEN"],
        "authorizationMode": "SSWS",
        "rateLimit": {"maxRetries": 0},
        "cache": {"enabled": False},
    })


def check(err, what):
    if err is not None:
        raise SystemExit(f"{what} failed: {err}")


async def all_pages(list_method, limit):
    """Every item, a page at a time with the SDK's own cursor pagination (it follows
    the `after` cursor of the Link rel="next" header); and the number of pages."""
    items, pages = [], 0
    async for page, number, _ in paginate_pages(list_method, limit=limit):
        items.extend(page)
        pages = number
    return items, pages


async def setup():
    okta = client()
    users = []
    for n in range(3):
        body = CreateUserRequest.from_dict({
            "profile": {
                "login": f"sdk-user-{n}@example.com",
                "email": f"sdk-user-{n}@example.com",
                "firstName": "Sdk",
                "lastName": f"User{n}",
            },
            "credentials": {"password": {"value": PASSWORD}},
        })
        user, resp, err = await okta.create_user(body, activate=True)
        check(err, "create_user")
        assert user.status.value == "ACTIVE", user.status
        users.append(user)

    app_body = OpenIdConnectApplication.from_dict({
        "name": "oidc_client",
        "label": "SDK web app",
        "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_basic", "autoKeyRotation": True}},
        "settings": {"oauthClient": {
            "redirect_uris": [REDIRECT],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "application_type": "web",
        }},
    })
    app, resp, err = await okta.create_application(app_body)
    check(err, "create_application")
    secret = app.credentials.oauth_client.client_secret
    assert secret, "the secret comes back at creation"
    for n in range(2):
        extra = OpenIdConnectApplication.from_dict({
            "name": "oidc_client",
            "label": f"SDK extra app {n}",
            "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_post"}},
            "settings": {"oauthClient": {"redirect_uris": [REDIRECT], "grant_types": ["authorization_code"], "response_types": ["code"], "application_type": "web"}},
        })
        _, _, err = await okta.create_application(extra)
        check(err, "create_application (extra)")

    assignment = AppUserAssignRequest.from_dict({"id": users[0].id, "scope": "USER", "credentials": {"userName": users[0].profile.login}})
    app_user, resp, err = await okta.assign_user_to_application(app.id, assignment)
    check(err, "assign_user_to_application")
    assert app_user.id == users[0].id

    _, _, err = await okta.list_users(limit=2)
    check(err, "list_users")
    listed, pages = await all_pages(okta.list_users, 2)
    listed_ids = [u.id for u in listed]
    assert pages >= 2, f"users came in {pages} page(s)"
    assert len(listed_ids) == len(set(listed_ids)), "no user twice"
    assert {u.id for u in users} <= set(listed_ids), "every user listed"

    _, _, err = await okta.list_applications(limit=1)
    check(err, "list_applications")
    listed, pages = await all_pages(okta.list_applications, 1)
    assert pages >= 3, f"apps came in {pages} page(s)"
    assert app.id in [a.id for a in listed]

    assigned, resp, err = await okta.list_application_users(app.id)
    check(err, "list_application_users")
    assert [u.id for u in assigned] == [users[0].id]

    print(json.dumps({
        "user_id": users[0].id,
        "login": users[0].profile.login,
        "client_id": app.credentials.oauth_client.client_id,
        "client_secret": secret,
    }))


async def teardown(user_id, client_id):
    okta = client()
    _, _, err = await okta.deactivate_application(client_id)
    check(err, "deactivate_application")
    app, _, err = await okta.get_application(client_id)
    check(err, "get_application")
    assert app.status.value == "INACTIVE", app.status
    _, _, err = await okta.delete_application(client_id)
    check(err, "delete_application")
    _, _, err = await okta.get_application(client_id)
    assert err is not None, "the app is gone"

    _, _, err = await okta.deactivate_user(user_id)
    check(err, "deactivate_user")
    user, _, err = await okta.get_user(user_id)
    check(err, "get_user")
    assert user.status.value == "DEPROVISIONED", user.status
    _, _, err = await okta.delete_user(user_id)
    check(err, "delete_user")
    _, _, err = await okta.get_user(user_id)
    assert err is not None, "the user is gone"
    print(json.dumps({"deleted": [client_id, user_id]}))


async def servers(client_id):
    okta = client()
    server, _, err = await okta.create_authorization_server(AuthorizationServer.from_dict({
        "name": "Orders", "description": "Orders API", "audiences": ["api://orders"],
    }))
    check(err, "create_authorization_server")
    assert server is not None and server.id, "the server is read from the 201"
    scope, _, err = await okta.create_o_auth2_scope(server.id, OAuth2Scope.from_dict({
        "name": "orders:read", "consent": "IMPLICIT", "metadataPublish": "NO_CLIENTS",
    }))
    check(err, "create_o_auth2_scope")
    assert scope is not None and scope.name == "orders:read", scope
    claim, _, err = await okta.create_o_auth2_claim(server.id, OAuth2Claim.from_dict({
        "name": "login", "status": "ACTIVE", "claimType": "RESOURCE", "valueType": "EXPRESSION",
        "value": "user.login", "conditions": {"scopes": ["orders:read"]},
    }))
    check(err, "create_o_auth2_claim")
    assert claim is not None and claim.name == "login", claim
    policy, _, err = await okta.create_authorization_server_policy(server.id, AuthorizationServerPolicy.from_dict({
        "type": "OAUTH_AUTHORIZATION_POLICY", "name": "Apps", "description": "All apps",
        "priority": 1, "conditions": {"clients": {"include": ["ALL_CLIENTS"]}},
    }))
    check(err, "create_authorization_server_policy")
    assert policy is not None and policy.id, "the policy is read from the 201"
    rule, _, err = await okta.create_authorization_server_policy_rule(server.id, policy.id, AuthorizationServerPolicyRuleRequest.from_dict({
        "type": "RESOURCE_ACCESS", "name": "Everyone", "priority": 1,
        "conditions": {"people": {"groups": {"include": ["EVERYONE"]}},
                       "grantTypes": {"include": ["authorization_code"]},
                       "scopes": {"include": ["*"]}},
        "actions": {"token": {"accessTokenLifetimeMinutes": 60, "refreshTokenLifetimeMinutes": 0,
                              "refreshTokenWindowMinutes": 10080}},
    }))
    check(err, "create_authorization_server_policy_rule")
    assert rule is not None and rule.id, "the rule is read from the 201"
    secret, _, err = await okta.create_o_auth2_client_secret(client_id)
    check(err, "create_o_auth2_client_secret")
    assert secret is not None and secret.client_secret, "the secret is read from the 201"
    print(json.dumps({
        "server": server.id, "scope": scope.id, "claim": claim.id, "policy": policy.id,
        "rule": rule.id, "secret_id": secret.id, "client_secret": secret.client_secret,
    }))


async def idp_create(secret):
    okta = client()
    executor = okta.get_request_executor()
    body = {
        "type": "OIDC",
        "name": "SDK Corp",
        "protocol": {
            "type": "OIDC",
            "endpoints": {
                "authorization": {"url": "https://idp.example/oauth2/v1/authorize", "binding": "HTTP-REDIRECT"},
                "token": {"url": "https://idp.example/oauth2/v1/token", "binding": "HTTP-POST"},
                "jwks": {"url": "https://idp.example/oauth2/v1/keys", "binding": "HTTP-REDIRECT"},
            },
            "scopes": ["openid", "email", "profile"],
            "issuer": {"url": "https://idp.example"},
            "credentials": {"client": {
                "client_id": "gatehouse-at-idp",
                "client_secret": secret,
                "token_endpoint_auth_method": "client_secret_post",
            }},
        },
        "policy": {
            "provisioning": {"action": "AUTO", "profileMaster": False, "groups": {"action": "NONE"}},
            "accountLink": {"action": "AUTO", "filter": None},
            "subject": {"userNameTemplate": {"template": "idpuser.email"}, "matchType": "USERNAME"},
            "maxClockSkew": 120000,
        },
    }
    request, err = await executor.create_request("POST", "/api/v1/idps", body, {})
    check(err, "create_request")
    response, text, err = await executor.execute(request)
    check(err, "POST /api/v1/idps")
    assert response.status == 200, response.status
    assert secret not in text, "the secret is never answered"
    created = json.loads(text)
    assert created["status"] == "ACTIVE"
    assert created["protocol"]["issuer"]["url"] == "https://idp.example"
    print(json.dumps({"idp_id": created["id"]}))


async def idps(idp_id, user_id, secret):
    okta = client()
    listed, resp, err = await okta.list_identity_providers()
    check(err, "list_identity_providers")
    assert [i.id for i in listed] == [idp_id], [i.id for i in listed]
    one, _, err = await okta.get_identity_provider(idp_id)
    check(err, "get_identity_provider")
    assert one.id == idp_id and one.name == "SDK Corp"
    seen = json.dumps(one.to_dict(), default=str)
    assert secret not in seen, "the SDK's model has no secret"

    off, _, err = await okta.deactivate_identity_provider(idp_id)
    check(err, "deactivate_identity_provider")
    assert off.status.value == "INACTIVE", off.status
    on, _, err = await okta.activate_identity_provider(idp_id)
    check(err, "activate_identity_provider")
    assert on.status.value == "ACTIVE", on.status

    linked, _, err = await okta.list_identity_provider_application_users(idp_id)
    check(err, "list_identity_provider_application_users")
    assert [u.id for u in linked] == [user_id], [u.id for u in linked]

    _, _, err = await okta.delete_identity_provider(idp_id)
    check(err, "delete_identity_provider")
    gone, _, err = await okta.get_identity_provider(idp_id)
    assert err is not None and gone is None, "deleted"
    print(json.dumps({
        "listed": [i.id for i in listed], "name": one.name, "type": str(one.type.value if hasattr(one.type, "value") else one.type),
        "linked": [u.id for u in linked], "deleted": idp_id,
    }))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "setup":
        asyncio.run(setup())
    elif command == "teardown" and len(sys.argv) == 4:
        asyncio.run(teardown(sys.argv[2], sys.argv[3]))
    elif command == "servers" and len(sys.argv) == 3:
        asyncio.run(servers(sys.argv[2]))
    elif command == "idp-create" and len(sys.argv) == 3:
        asyncio.run(idp_create(sys.argv[2]))
    elif command == "idps" and len(sys.argv) == 5:
        asyncio.run(idps(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        raise SystemExit(__doc__)
