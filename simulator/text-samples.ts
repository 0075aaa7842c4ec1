/**
 * Non-ASCII text of the realistic profile, as real subscriptions carry it: OS captions localized by
 * Windows (agents report WMI's localized Caption), names and tags people type in their own language,
 * user names, file paths and registry keys in scan results. Every string has multi-byte UTF-8
 * characters (2-, 3- and 4-byte ones: accents, CJK, Cyrillic, emoji), so that a decoder that splits a
 * body into chunks without care for character boundaries shows.
 */

/** Localized Windows captions as Cloud Agents report them (OS string), by language. */
export const LOCALIZED_WINDOWS_OS: readonly string[] = [
  'Microsoft Windows 10 Professionnel 10.0.19045 64 bits',
  'Microsoft Windows 11 Pro für Workstations 10.0.22631 64-Bit',
  'Microsoft Windows 10 企业版 10.0.19045 64 位',
  'Microsoft Windows Server 2019 Datacenter 10.0.17763 64 ビット',
  'Microsoft Windows 10 Educación 10.0.19045 64 bits',
  'Microsoft Windows 11 Famille 10.0.22631 64 bits',
  'Майкрософт Windows 10 Корпоративная 10.0.19045 64-разрядная',
  'Microsoft Windows 10 Pro para Estações de Trabalho 10.0.19045 64 bits',
];

/** Names people give assets in the Asset Management UI (HostAsset `name`). */
export const ASSET_DISPLAY_NAMES: readonly string[] = [
  'Poste de José – Compta',
  '会計部-PC',
  'Jürgen’s Laptop',
  '🔥 prod-db',
  'Laboratório São Paulo',
  'Серверная Москва',
  'Kasse Zürich Hbf',
  'מחשב קבלה',
  'Ålesund kontor',
  '東京データセンター サーバー',
];

/** Asset tags a subscription defines (TagSimple `name`), plain and not. */
export const TAG_NAMES: readonly string[] = [
  'Internet Facing Assets',
  'Paris – Siège',
  '東京データセンター',
  'Producción',
  'Zürich Büro',
  '🔥 Critical',
  'PCI-DSS ✅',
  'Équipe Sécurité',
  'Москва-DC',
  'Windows Servers',
  'Linux Servers',
  'Business Units',
  'Müller & Söhne GmbH',
  'Ελληνικό γραφείο',
];

/** Users last logged on (HostAsset `lastLoggedOnUser`). */
export const LOGGED_ON_USERS: readonly string[] = [
  'CORP\\josé.garcía',
  'CORP\\田中太郎',
  'CORP\\müller.jürgen',
  'CORP\\svc_backup',
  'CORP\\ольга.петрова',
  'CORP\\françois.lefèvre',
  'root',
  'ec2-user',
];

/** Directories that show up in scan results (RESULTS) on Windows hosts. */
export const WINDOWS_RESULT_PATHS: readonly string[] = [
  'C:\\Program Files\\Fichiers communs\\Microsoft Shared\\ClickToRun',
  'C:\\Users\\José\\AppData\\Local\\Programs\\Zoom\\bin',
  'C:\\Program Files (x86)\\Gemeinsame Dateien\\Oracle\\Java\\javapath',
  'C:\\Users\\田中\\AppData\\Roaming\\Mozilla\\Firefox',
  'C:\\Program Files\\Арх\\7-Zip',
  'D:\\Données\\Applications métier\\Comptabilité',
];

/** Directories and package names in Linux scan results. */
export const LINUX_RESULT_PATHS: readonly string[] = [
  '/opt/aplicación/lib',
  '/home/jörg/.local/lib/python3.10/site-packages',
  '/srv/données/web',
  '/usr/lib/x86_64-linux-gnu',
  '/var/lib/docker/overlay2/数据/merged/usr/lib',
];

/** Lines of service banners and web page titles that scans quote in RESULTS. */
export const BANNER_LINES: readonly string[] = [
  'Server: Apache/2.4.41 (Ubuntu) – Intranet Société',
  '<title>🚀 Portail Intranet – Accès réservé</title>',
  'SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5 «production»',
  '220 mail.example.com ESMTP Postfix (Débian/GNU) ✉',
  'WWW-Authenticate: Basic realm="管理コンソール"',
  'Set-Cookie: JSESSIONID=…; Path=/åpen; Secure',
];
