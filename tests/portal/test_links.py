"""The portal's settings: a development secret only while the portal's address is on loopback."""

from __future__ import annotations

import pytest

from bhxh.intake import links


def test_a_secret_is_required_beyond_loopback():
    assert links.portal_settings({}).secret == links.DEV_SECRET.encode()
    assert links.portal_settings({"BHXH_PORTAL_PORT": "18090"}).base_url == "http://127.0.0.1:18090"
    assert links.portal_settings({"BHXH_PORTAL_URL": "http://localhost:8090/"}).base_url == "http://localhost:8090"
    with pytest.raises(links.PortalConfigError):
        links.portal_settings({"BHXH_PORTAL_URL": "https://baocao.vss.gov.vn"})
    real = links.portal_settings({"BHXH_PORTAL_URL": "https://baocao.vss.gov.vn", "BHXH_PORTAL_SECRET": "s" * 32})
    assert real.secure and real.secret == b"s" * 32


def test_a_link_is_bound_to_its_unit_key_version_and_secret(store):
    _url, maker = store
    settings = links.PortalSettings("http://127.0.0.1:8090", b"one")
    with maker() as session, session.begin():
        token = links.mint(settings, "bhxh_tinh_yen_bai", 1, obligation_id="nq51_action_programme", cycle_key="2019")
        grant = links.verify(settings, token, session)
        assert grant.allows("nq51_action_programme", "2019") and not grant.allows("nq51_action_programme", "2020")
        with pytest.raises(links.LinkError) as other_secret:
            links.verify(links.PortalSettings(settings.base_url, b"two"), token, session)
        assert other_secret.value.code == "link_tampered"
        assert links.rotate(session, "bhxh_tinh_yen_bai") == 2
        with pytest.raises(links.LinkError) as revoked:
            links.verify(settings, token, session)
        assert revoked.value.code == "link_revoked"
        assert links.verify(settings, links.mint(settings, "bhxh_tinh_yen_bai", 2), session).version == 2
        assert links.key_versions(session, ["bhxh_tinh_yen_bai", "bhxh_tinh_lao_cai"]) == {"bhxh_tinh_yen_bai": 2, "bhxh_tinh_lao_cai": 1}
        csrf = links.csrf_token(settings, token)
        assert csrf == links.csrf_token(settings, token) and csrf != links.csrf_token(settings, token + "x")
