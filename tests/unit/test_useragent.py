import pytest
from funil.click.useragent import classify

HUMANS = {
    "instagram_ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 Instagram 325.0.4.32.96 (iPhone14,5; iOS 17_4; pt_BR; pt; scale=3.00; 1170x2532; 581245013)",
        ("mobile", "ios", "instagram"),
    ),
    "instagram_android": (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 Instagram 330.0.0.40.92 Android "
        "(34/14; 450dpi; 1080x2340; samsung; SM-S918B; dm3q; qcom; pt_BR; 598323397)",
        ("mobile", "android", "instagram"),
    ),
    "facebook_android": (
        "Mozilla/5.0 (Linux; Android 13; SM-A536E Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/122.0.6261.105 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/453.0.0.40.106;]",
        ("mobile", "android", "facebook"),
    ),
    "facebook_ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/pt_BR;FBOP/5]",
        ("mobile", "ios", "facebook"),
    ),
    "messenger_ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 [FBAN/MessengerForiOS;FBAV/441.0.0.35.112;FBBV/540393133;FBDV/iPhone14,2;FBMD/iPhone]",
        ("mobile", "ios", "messenger"),
    ),
    "tiktok_android": (
        "Mozilla/5.0 (Linux; Android 12; M2101K6G Build/SKQ1.210908.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/120.0.6099.193 Mobile Safari/537.36 trill_340304 JsSdk/1.0 NetType/WIFI "
        "Channel/googleplay AppName/musical_ly app_version/34.3.4 ByteLocale/pt-BR Region/BR BytedanceWebview/d8a21c6",
        ("mobile", "android", "tiktok"),
    ),
    "chrome_windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        ("desktop", "windows", None),
    ),
    "safari_iphone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        ("mobile", "ios", None),
    ),
    "samsung_tablet": (
        "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 "
        "Chrome/115.0.0.0 Safari/537.36",
        ("tablet", "android", None),
    ),
}

BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "facebookcatalog/1.0",
    "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    "TelegramBot (like TwitterBot)",
    "WhatsApp/2.23.20.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
    "curl/8.4.0",
    "python-requests/2.32.3",
    "",
    None,
]


@pytest.mark.parametrize("name", sorted(HUMANS))
def test_people_including_in_app_browsers(name):
    ua, (device, os_name, in_app) = HUMANS[name]
    visitor = classify(ua)
    assert not visitor.is_bot
    assert (visitor.device, visitor.os, visitor.in_app) == (device, os_name, in_app)


@pytest.mark.parametrize("ua", BOTS)
def test_bots_crawlers_and_link_previews(ua):
    assert classify(ua).is_bot


def test_huge_user_agent_is_bounded():
    visitor = classify("Mozilla/5.0 (iPhone) " + "A" * 100_000)
    assert not visitor.is_bot


def test_re2_compiled_list_agrees_with_crawlerdetect_itself():
    """crawlerdetect's own matcher is the oracle for our RE2 compilation of its list."""
    from crawlerdetect import CrawlerDetect
    from funil.click.useragent import is_crawler

    oracle = CrawlerDetect()
    corpus = (
        [ua for ua, _ in HUMANS.values()]
        + [ua for ua in BOTS if ua]
        + [
            "YandexSearch/1.0 (iPhone)",
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "okhttp/4.12.0",
            "Go-http-client/2.0",
            "Java/17.0.2",
            "PostmanRuntime/7.37.3",
            "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
            "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot)",
            "Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Snapchat/12.80.0.39",
        ]
    )
    for ua in corpus:
        assert is_crawler(ua) == oracle.is_crawler(ua), ua
