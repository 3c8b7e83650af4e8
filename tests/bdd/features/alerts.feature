Feature: Alerts reach a human through every configured channel
  Alerts are evaluated on the metrics document on a fake clock and delivered
  through the real channel SDKs to local stand-ins of Slack, Telegram, Twilio,
  an SMTP server and a webhook receiver.

  Scenario: Trigger high-latency alert
    Given max_latency_ms = 200
    And a trade execution took 350 ms
    When metrics are evaluated
    Then an alert is sent via each configured channel

  Scenario: Fire then resolve sends exactly two messages
    Given critical alerts are routed to the webhook
    When bot "b1" reports its kill switch "triggered"
    And metrics are evaluated for 30 seconds
    Then the webhook has received "firing"
    When bot "b1" reports its kill switch "armed"
    And metrics are evaluated for 30 seconds
    Then the webhook has received "firing,resolved"

  Scenario: Escalate an unacknowledged critical alert
    Given critical alerts go to the webhook and escalate to Slack after 300 seconds
    When bot "b1" reports its kill switch "triggered"
    And metrics are evaluated for 299 seconds
    Then Slack has received 0 messages
    When metrics are evaluated for 1 seconds
    Then Slack has received 1 messages

  Scenario: An acknowledged alert does not escalate
    Given critical alerts go to the webhook and escalate to Slack after 300 seconds
    When bot "b1" reports its kill switch "triggered"
    And metrics are evaluated for 10 seconds
    And the alert is acknowledged by "alice"
    And metrics are evaluated for 600 seconds
    Then Slack has received 0 messages
