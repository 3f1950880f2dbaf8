"""The portal's commands:

    python -m bhxh.portal serve [--host 127.0.0.1] [--port 8090]     `make portal` (port: $BHXH_PORTAL_PORT)
    python -m bhxh.portal link UNIT [--obligation ID --cycle KEY]    `make portal-link UNIT=... [OBLIGATION= CYCLE=]`
    python -m bhxh.portal rotate UNIT                                a new key for the unit: its old links stop working

The store is $BHXH_STORE_URL (else var/store.sqlite); links are signed with $BHXH_PORTAL_SECRET and point at
$BHXH_PORTAL_URL (default http://127.0.0.1:8090). Serving on anything but loopback needs the secret.
"""

from __future__ import annotations

import argparse
import os
import sys

from bhxh.intake import links


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bhxh.portal", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the portal with uvicorn")
    serve.add_argument("--host", default=os.environ.get("BHXH_PORTAL_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("BHXH_PORTAL_PORT") or 8090))
    link = sub.add_parser("link", help="print a unit's personal link")
    link.add_argument("unit")
    link.add_argument("--obligation")
    link.add_argument("--cycle")
    rotate = sub.add_parser("rotate", help="rotate a unit's key (revokes its links)")
    rotate.add_argument("unit")
    args = parser.parse_args(argv)

    from bhxh.calendar.units import default_registry
    from bhxh.store.engine import default_url, init_store, session_factory

    try:
        settings = links.portal_settings()
        if args.command == "serve" and not links.is_loopback(args.host) and not os.environ.get("BHXH_PORTAL_SECRET"):
            raise links.PortalConfigError("Cổng mở ra ngoài máy cần BHXH_PORTAL_SECRET.", "Serving beyond loopback needs BHXH_PORTAL_SECRET.", code="portal_secret_missing")
    except links.PortalConfigError as exc:
        print(f"{exc.message_vi}\n{exc.message_en}", file=sys.stderr)
        return 2
    if args.command == "serve":
        import uvicorn

        from bhxh.portal.app import create_app

        print(f"Cổng nộp báo cáo / unit portal: http://{args.host}:{args.port}  (links point at {settings.base_url})", flush=True)
        uvicorn.run(create_app(settings=settings), host=args.host, port=args.port, log_level="warning", proxy_headers=True)
        return 0
    if args.unit not in default_registry():
        print(f"Không có đơn vị '{args.unit}' trong danh mục / unknown unit '{args.unit}'", file=sys.stderr)
        return 2
    url = init_store(default_url())
    with session_factory(url)() as session, session.begin():
        if args.command == "rotate":
            version = links.rotate(session, args.unit)
            print(f"Đã đổi khóa của {args.unit} (phiên bản {version}): các đường dẫn cũ hết hiệu lực / key rotated, old links revoked")
            return 0
        if bool(args.obligation) != bool(args.cycle):
            print("OBLIGATION và CYCLE đi cùng nhau / give both OBLIGATION and CYCLE, or neither", file=sys.stderr)
            return 2
        print(links.UnitLinks(session, settings)(args.unit, args.obligation, args.cycle))
    return 0


if __name__ == "__main__":
    sys.exit(main())
