"""Infrastructure: the CDK stack, the Step Functions definitions and the local emulator stack (never deployed)."""
