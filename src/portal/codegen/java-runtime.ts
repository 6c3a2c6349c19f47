/** The hand-written runtime classes of the Java SDK (JDK 17, java.net.http, no dependencies). */

export const JSON_JAVA = `package dev.atoll.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small, strict JSON reader and writer: objects are Maps, arrays Lists, integers Longs, other numbers Doubles. */
public final class Json {
  private final String s;
  private int i;

  private Json(String s) { this.s = s; }

  public static Object parse(String text) {
    Json p = new Json(text);
    p.ws();
    Object v = p.value();
    p.ws();
    if (p.i != p.s.length()) throw new IllegalArgumentException("trailing characters at " + p.i);
    return v;
  }

  private void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }

  private char peek() {
    if (i >= s.length()) throw new IllegalArgumentException("unexpected end of JSON");
    return s.charAt(i);
  }

  private void expect(String word) {
    if (!s.startsWith(word, i)) throw new IllegalArgumentException("expected " + word + " at " + i);
    i += word.length();
  }

  private Object value() {
    char c = peek();
    switch (c) {
      case '{': return object();
      case '[': return array();
      case '"': return string();
      case 't': expect("true"); return Boolean.TRUE;
      case 'f': expect("false"); return Boolean.FALSE;
      case 'n': expect("null"); return null;
      default: return number();
    }
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    i++;
    ws();
    if (peek() == '}') { i++; return m; }
    while (true) {
      ws();
      String k = string();
      ws();
      expect(":");
      ws();
      m.put(k, value());
      ws();
      char c = peek();
      i++;
      if (c == '}') return m;
      if (c != ',') throw new IllegalArgumentException("expected , or } at " + (i - 1));
    }
  }

  private List<Object> array() {
    List<Object> l = new ArrayList<>();
    i++;
    ws();
    if (peek() == ']') { i++; return l; }
    while (true) {
      ws();
      l.add(value());
      ws();
      char c = peek();
      i++;
      if (c == ']') return l;
      if (c != ',') throw new IllegalArgumentException("expected , or ] at " + (i - 1));
    }
  }

  private String string() {
    if (peek() != '"') throw new IllegalArgumentException("expected a string at " + i);
    i++;
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = s.charAt(i++);
      if (c == '"') return b.toString();
      if (c != '\\\\') { b.append(c); continue; }
      char e = s.charAt(i++);
      switch (e) {
        case 'n': b.append('\\n'); break;
        case 't': b.append('\\t'); break;
        case 'r': b.append('\\r'); break;
        case 'b': b.append('\\b'); break;
        case 'f': b.append('\\f'); break;
        case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
        default: b.append(e);
      }
    }
  }

  private Object number() {
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
    String n = s.substring(start, i);
    if (n.isEmpty()) throw new IllegalArgumentException("unexpected character at " + start);
    if (n.contains(".") || n.contains("e") || n.contains("E")) return Double.parseDouble(n);
    return Long.parseLong(n);
  }

  public static String write(Object v) {
    StringBuilder b = new StringBuilder();
    write(b, v);
    return b.toString();
  }

  private static void write(StringBuilder b, Object v) {
    if (v == null) b.append("null");
    else if (v instanceof JsonValue jv) write(b, jv.toJson());
    else if (v instanceof String str) quote(b, str);
    else if (v instanceof Number || v instanceof Boolean) b.append(v);
    else if (v instanceof Map<?, ?> m) {
      b.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) b.append(',');
        first = false;
        quote(b, String.valueOf(e.getKey()));
        b.append(':');
        write(b, e.getValue());
      }
      b.append('}');
    } else if (v instanceof Iterable<?> it) {
      b.append('[');
      boolean first = true;
      for (Object o : it) {
        if (!first) b.append(',');
        first = false;
        write(b, o);
      }
      b.append(']');
    } else quote(b, v.toString());
  }

  private static void quote(StringBuilder b, String str) {
    b.append('"');
    for (char c : str.toCharArray()) {
      if (c == '"' || c == '\\\\') b.append('\\\\').append(c);
      else if (c < 0x20) b.append(String.format("\\\\u%04x", (int) c));
      else b.append(c);
    }
    b.append('"');
  }

  // Conversions used by the generated models.
  @SuppressWarnings("unchecked")
  public static Map<String, Object> obj(Object o) { return o instanceof Map<?, ?> ? (Map<String, Object>) o : Map.of(); }
  public static String str(Object o) { return o == null ? null : o.toString(); }
  public static Long lng(Object o) { return o instanceof Number n ? n.longValue() : null; }
  public static Double dbl(Object o) { return o instanceof Number n ? n.doubleValue() : null; }
  public static Boolean bool(Object o) { return o instanceof Boolean x ? x : null; }
  @SuppressWarnings("unchecked")
  public static List<Object> list(Object o) { return o instanceof List<?> ? (List<Object>) o : null; }
}
`;

export const JSON_VALUE_JAVA = `package dev.atoll.client;

import java.util.Map;

/** A typed body: its JSON object (required fields checked, absent ones left out). */
public interface JsonValue {
  Map<String, Object> toJson();
}
`;

/** The exception classes: the base and one per kind. */
export const EXCEPTIONS_JAVA: Record<string, string> = {
  AtollException: `package dev.atoll.client;

import java.util.List;
import java.util.Map;

/** Base of every exception the SDK throws: the HTTP status (0 without an answer), the problem document, the raw body. */
public class AtollException extends RuntimeException {
  public final int status;
  /** The problem type's slug: "rate-limited", "not-found", ... */
  public final String type;
  public final Map<String, Object> problem;
  /** The raw answer body (kept when it is not a problem document). */
  public final String body;
  public final Map<String, List<String>> headers;

  public AtollException(String message, int status, Map<String, Object> problem, String body, Map<String, List<String>> headers, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.problem = problem == null ? Map.of() : problem;
    this.body = body == null ? "" : body;
    this.headers = headers == null ? Map.of() : headers;
    String t = String.valueOf(this.problem.getOrDefault("type", ""));
    this.type = t.substring(t.lastIndexOf('/') + 1);
  }

  public AtollException(String message) { this(message, 0, null, null, null, null); }
}
`,
  ...Object.fromEntries(
    [
      [
        "BadRequestException",
        "400 or 422 (also thrown before sending when a required field is missing).",
      ],
      ["AuthException", "401 or 403."],
      ["NotFoundException", "404."],
      ["ConflictException", "409."],
      ["RateLimitException", "429."],
      ["ServerException", "5xx."],
      ["AtollConnectionException", "No answer: the connection failed."],
      ["AtollTimeoutException", "No answer within the timeout."],
    ].map(([name, doc]) => [
      name,
      `package dev.atoll.client;

import java.util.List;
import java.util.Map;

/** ${doc} */
public class ${name} extends AtollException {
  public ${name}(String message, int status, Map<String, Object> problem, String body, Map<String, List<String>> headers, Throwable cause) {
    super(message, status, problem, body, headers, cause);
  }

  public ${name}(String message) { super(message); }
}
`,
    ]),
  ),
};

export const CLIENT_RUNTIME = `
  private static final java.util.Set<String> IDEMPOTENT = java.util.Set.of("GET", "HEAD", "PUT", "OPTIONS");
  private final java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(java.time.Duration.ofSeconds(10)).followRedirects(java.net.http.HttpClient.Redirect.NEVER).build();
  private final String baseUrl;
  private final String apiKey;
  private final String clientId;
  private final String clientSecret;
  private int maxRetries = 2;
  private java.time.Duration timeout = java.time.Duration.ofSeconds(30);
  private long maxRetryDelayMillis = 60_000;
  private String token;
  private long tokenExpiresAt;

  private Atoll(String baseUrl, String apiKey, String clientId, String clientSecret) {
    this.baseUrl = (baseUrl == null ? DEFAULT_BASE_URL : baseUrl).replaceAll("/+$", "");
    this.apiKey = apiKey;
    this.clientId = clientId;
    this.clientSecret = clientSecret;
  }

  /** A client with no credential: public operations (sign-up, the marketplace) only. */
  public static Atoll anonymous(String baseUrl) { return new Atoll(baseUrl, null, null, null); }

  /** A client that sends an API key (X-API-Key). */
  public static Atoll withApiKey(String baseUrl, String apiKey) { return new Atoll(baseUrl, apiKey, null, null); }

  /** A client that exchanges OAuth 2.0 client credentials for access tokens (renewed before they expire). */
  public static Atoll withClientCredentials(String baseUrl, String clientId, String clientSecret) { return new Atoll(baseUrl, null, clientId, clientSecret); }

  /** Retries of network errors, 408, 429 and 5xx (default 2), honouring Retry-After. */
  public Atoll maxRetries(int n) { this.maxRetries = n; return this; }

  /** The per-attempt timeout (default 30 s). */
  public Atoll timeout(java.time.Duration d) { this.timeout = d; return this; }

  /** The longest Retry-After waited out (default 60 s); a longer one is thrown as the exception. */
  public Atoll maxRetryDelay(java.time.Duration d) { this.maxRetryDelayMillis = d.toMillis(); return this; }

  private synchronized String authorization() {
    if (apiKey != null) return null;
    if (clientId == null || clientSecret == null) return "";
    if (token == null || tokenExpiresAt - 30_000 < System.currentTimeMillis()) {
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("grant_type", "client_credentials");
      f.put("client_id", clientId);
      f.put("client_secret", clientSecret);
      Map<String, Object> body = Json.obj(request("POST", TOKEN_PATH, null, null, f, "form", "application/x-www-form-urlencoded", "json", false, null));
      if (!(body.get("access_token") instanceof String)) throw new AuthException("the token endpoint answered no access_token", 401, body, null, null, null);
      token = (String) body.get("access_token");
      Long expiresIn = Json.lng(body.get("expires_in"));
      tokenExpiresAt = System.currentTimeMillis() + (expiresIn == null ? 300 : expiresIn) * 1000;
    }
    return "Bearer " + token;
  }

  /** Retry-After in milliseconds: delay-seconds or an HTTP date; -1 when absent or unreadable. */
  public static long retryAfterMillis(String value) {
    if (value == null || value.isBlank()) return -1;
    String v = value.trim();
    try {
      return (long) (Double.parseDouble(v) * 1000);
    } catch (NumberFormatException notSeconds) {
      try {
        long at = java.time.ZonedDateTime.parse(v, java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
        return Math.max(0, at - System.currentTimeMillis());
      } catch (java.time.format.DateTimeParseException notDate) {
        return -1;
      }
    }
  }

  private static AtollException errorFor(int status, byte[] raw, Map<String, List<String>> headers) {
    String text = raw == null ? "" : new String(raw, java.nio.charset.StandardCharsets.UTF_8);
    Map<String, Object> problem = null;
    try {
      Object parsed = text.isEmpty() ? null : Json.parse(text);
      if (parsed instanceof Map<?, ?>) problem = new LinkedHashMap<>(Json.obj(parsed));
    } catch (RuntimeException notJson) {
      problem = null;
    }
    if (problem == null) {
      problem = new LinkedHashMap<>();
      problem.put("type", "about:blank");
      problem.put("title", "HTTP " + status);
      problem.put("status", (long) status);
      if (!text.isEmpty()) problem.put("detail", text.length() > 2000 ? text.substring(0, 2000) : text);
    }
    String message = String.valueOf(problem.getOrDefault("detail", problem.getOrDefault("title", "HTTP " + status)));
    if (status == 400 || status == 422) return new BadRequestException(message, status, problem, text, headers, null);
    if (status == 401 || status == 403) return new AuthException(message, status, problem, text, headers, null);
    if (status == 404) return new NotFoundException(message, status, problem, text, headers, null);
    if (status == 409) return new ConflictException(message, status, problem, text, headers, null);
    if (status == 429) return new RateLimitException(message, status, problem, text, headers, null);
    if (status >= 500) return new ServerException(message, status, problem, text, headers, null);
    return new AtollException(message, status, problem, text, headers, null);
  }

  private static String form(Map<?, ?> fields) {
    StringBuilder b = new StringBuilder();
    for (Map.Entry<?, ?> e : fields.entrySet()) {
      if (e.getValue() == null) continue;
      if (b.length() > 0) b.append('&');
      b.append(java.net.URLEncoder.encode(String.valueOf(e.getKey()), java.nio.charset.StandardCharsets.UTF_8)).append('=').append(java.net.URLEncoder.encode(String.valueOf(e.getValue()), java.nio.charset.StandardCharsets.UTF_8));
    }
    return b.toString();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(Math.max(0, millis));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AtollConnectionException("interrupted", 0, null, null, null, e);
    }
  }

  /**
   * Sends one operation. Retries network errors, 408, 429 and 5xx (maxRetries, backoff, Retry-After)
   * when the method is idempotent or the request carries an Idempotency-Key, which it creates (a
   * random UUID, the same for every retry) when the operation takes one and none was passed.
   * Returns the parsed JSON, the bytes (responseKind "binary"), or null.
   */
  public Object request(String method, String path, Map<String, ?> query, Map<String, String> headers, Object body, String bodyKind, String contentType, String responseKind, boolean auth, String idempotency) {
    StringBuilder url = new StringBuilder(baseUrl).append(path);
    if (query != null) {
      boolean first = true;
      for (Map.Entry<String, ?> e : query.entrySet()) {
        if (e.getValue() == null) continue;
        url.append(first ? '?' : '&').append(java.net.URLEncoder.encode(e.getKey(), java.nio.charset.StandardCharsets.UTF_8)).append('=').append(java.net.URLEncoder.encode(String.valueOf(e.getValue()), java.nio.charset.StandardCharsets.UTF_8));
        first = false;
      }
    }
    Map<String, String> extra = new LinkedHashMap<>();
    if (headers != null) for (Map.Entry<String, String> e : headers.entrySet()) if (e.getValue() != null) extra.put(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue());
    if (idempotency != null && !extra.containsKey("idempotency-key")) extra.put("idempotency-key", java.util.UUID.randomUUID().toString());
    boolean retryable = IDEMPOTENT.contains(method) || extra.containsKey("idempotency-key");
    java.net.http.HttpRequest.BodyPublisher publisher = java.net.http.HttpRequest.BodyPublishers.noBody();
    if (body != null) {
      extra.put("content-type", contentType);
      if ("binary".equals(bodyKind)) publisher = java.net.http.HttpRequest.BodyPublishers.ofByteArray((byte[]) body);
      else if ("form".equals(bodyKind)) publisher = java.net.http.HttpRequest.BodyPublishers.ofString(form(body instanceof JsonValue jv ? jv.toJson() : (Map<?, ?>) body));
      else publisher = java.net.http.HttpRequest.BodyPublishers.ofString(Json.write(body));
    }
    for (int attempt = 0; ; attempt++) {
      long backoff = (long) (Math.min(8000, 250 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2));
      java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url.toString())).timeout(timeout).header("accept", "binary".equals(responseKind) ? "*/*" : "application/json");
      if (auth) {
        String a = authorization();
        if (a == null) b.header("x-api-key", apiKey);
        else if (!a.isEmpty()) b.header("authorization", a);
      }
      for (Map.Entry<String, String> e : extra.entrySet()) b.header(e.getKey(), e.getValue());
      b.method(method, publisher);
      java.net.http.HttpResponse<byte[]> res;
      try {
        res = http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
      } catch (java.net.http.HttpTimeoutException e) {
        if (retryable && attempt < maxRetries) { sleep(backoff); continue; }
        throw new AtollTimeoutException("no answer within " + timeout, 0, null, null, null, e);
      } catch (java.io.IOException e) {
        if (retryable && attempt < maxRetries) { sleep(backoff); continue; }
        throw new AtollConnectionException("connection failed: " + e, 0, null, null, null, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AtollConnectionException("interrupted", 0, null, null, null, e);
      }
      int status = res.statusCode();
      long after = retryAfterMillis(res.headers().firstValue("retry-after").orElse(null));
      // A wait longer than maxRetryDelay is the caller's decision: the exception is thrown at once.
      if ((status == 408 || status == 429 || status >= 500) && retryable && attempt < maxRetries && after <= maxRetryDelayMillis) {
        sleep(after < 0 ? backoff : after);
        continue;
      }
      if (status >= 400) throw errorFor(status, res.body(), res.headers().map());
      byte[] raw = res.body();
      if ("binary".equals(responseKind)) return raw;
      if (raw == null || raw.length == 0 || "none".equals(responseKind)) return null;
      String text = new String(raw, java.nio.charset.StandardCharsets.UTF_8);
      try {
        return Json.parse(text);
      } catch (RuntimeException e) {
        throw new AtollException("the answer is not JSON", status, null, text, res.headers().map(), e);
      }
    }
  }

  private static String seg(Object value) {
    String s = java.net.URLEncoder.encode(String.valueOf(value), java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20").replace("%40", "@");
    // "." and ".." would be dot segments that climb out of the path: refused before sending.
    if (s.equals(".") || s.equals("..")) throw new BadRequestException("A path parameter may not be . or ..");
    return s;
  }

  /** The rest of a path (a plugin route's *): slashes kept, each segment encoded, never . or .. */
  private static String segs(Object value) {
    String[] parts = String.valueOf(value).split("/", -1);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < parts.length; i++) {
      if (i > 0) out.append('/');
      if (!parts[i].isEmpty()) out.append(seg(parts[i]));
    }
    return out.toString();
  }

  /** Throws BadRequestException before sending when a required value is missing. */
  public static void requireValue(Object value, String name) {
    if (value == null) throw new BadRequestException("the " + name + " is required");
  }
`;
