import { describe, expect, it } from "vitest";
import { escapeHtml } from "./escape.ts";
import { caConfiguredEmail } from "./templates/ca-configured.ts";
import { smtpTestEmail } from "./templates/test-message.ts";
import { certificatesIssuedEmail, numberRanges } from "./templates/certificates-issued.ts";

const base = {
  adminEmail: "admin@example.test",
  mode: "new" as const,
  files: ["ca.crt", "ca.key"],
  directory: "/var/lib/portcullis/ca",
  subject: "CN=Example Root CA,O=Example",
  sha1Fingerprint: "AA:BB:CC",
  sha256Fingerprint: "11:22:33:44",
  notAfter: new Date("2035-06-30T12:00:00.123Z"),
};

describe("escapeHtml", () => {
  it("escapes the five HTML-significant characters", () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  });
});

describe("caConfiguredEmail", () => {
  it("has the subject line, files, fingerprints, expiry and link in text and html", () => {
    const m = caConfiguredEmail({ ...base, portalUrl: "https://pki.example.test/" });
    expect(m.subject).toBe("Certificate Authority server configured: CN=Example Root CA,O=Example");
    for (const body of [m.text, m.html]) {
      expect(body).toContain("new files");
      expect(body).toContain("ca.crt");
      expect(body).toContain("ca.key");
      expect(body).toContain("/var/lib/portcullis/ca");
      expect(body).toContain("AA:BB:CC");
      expect(body).toContain("11:22:33:44");
      expect(body).toContain("2035-06-30T12:00:00Z");
      expect(body).toContain("https://pki.example.test/");
      expect(body).toContain("Sent by the Portcullis PKI portal");
    }
    expect(m.html).toContain('href="https://pki.example.test/"');
    expect(m.html).toContain("Portcullis");
  });

  it("says 'existing files' and has no link without portalUrl", () => {
    const m = caConfiguredEmail({ ...base, mode: "existing" });
    expect(m.text).toContain("existing files");
    expect(m.html).not.toContain("<a ");
  });

  it("escapes every user-supplied value in html and keeps the subject header on one line", () => {
    const m = caConfiguredEmail({
      ...base,
      subject: "CN=<script>alert('x')</script>\r\nBcc: victim@example.test",
      files: ['"><img src=x onerror=alert(1)>'],
      directory: "/tmp/<b>",
      adminEmail: "a&b@example.test",
      portalUrl: 'https://pki.example.test/?a=1&b="2"',
    });
    expect(m.subject).not.toMatch(/[\r\n]/);
    expect(m.html).not.toContain("<script>");
    expect(m.html).toContain("&lt;script&gt;");
    expect(m.html).not.toContain("<img");
    expect(m.html).not.toContain("<b>");
    expect(m.html).toContain("a&amp;b@example.test");
    expect(m.html).toContain('href="https://pki.example.test/?a=1&amp;b=&quot;2&quot;"');
    // Plain text is not HTML: shown as typed.
    expect(m.text).toContain("<script>");
  });

  it("does not turn a non-web portal URL into a link", () => {
    const m = caConfiguredEmail({ ...base, portalUrl: "javascript:alert(1)" });
    expect(m.html).not.toContain("href=");
  });
});

describe("smtpTestEmail", () => {
  it("names the recipient, escaped", () => {
    const m = smtpTestEmail({ to: "<ops>@example.test" });
    expect(m.subject).toBe("Portcullis SMTP test");
    expect(m.text).toContain("<ops>@example.test");
    expect(m.html).toContain("&lt;ops&gt;@example.test");
  });
});

describe("certificatesIssuedEmail", () => {
  const item = (number: number, filename: string) => ({ number, filename, subject: `CN=${filename}`, serial: `0${number}AB`, notAfter: new Date("2027-01-02T03:04:05.678Z"), sha1Fingerprint: "AA:BB" });

  it("lists every certificate with its download link, numbers as ranges, user text escaped", () => {
    const m = certificatesIssuedEmail({ certificates: [item(3, "a"), item(4, "<b>x</b>"), item(5, "c"), item(9, "d")], downloadBase: "https://pki.example.test", pageUrl: "https://pki.example.test/certificates" });
    expect(m.subject).toBe("4 certificates issued: numbers 3–5, 9");
    for (const n of [3, 4, 5, 9]) expect(m.text).toContain(`Download (PEM): https://pki.example.test/api/v1/certificates/${n}?format=pem`);
    expect(m.text).toContain("File name: <b>x</b>");
    expect(m.text).toContain("Valid until: 2027-01-02T03:04:05Z");
    expect(m.html).toContain("File name: &lt;b&gt;x&lt;/b&gt;");
    expect(m.html).not.toContain("<b>x</b>");
    expect(m.html).toContain('href="https://pki.example.test/certificates"');
  });

  it("collapses runs of numbers", () => {
    expect(numberRanges([7, 1, 2, 3, 5, 9, 10])).toBe("1–3, 5, 7, 9–10");
    expect(numberRanges([4])).toBe("4");
  });
});
