"""Why a model predicted a genre: Grad-CAM and Integrated Gradients on its inputs (Captum)."""
